namespace AspireBatch.AppHost.Infrastructure;

public enum InfrastructureMode
{
    /// <summary>External connection strings if given, else containers if a runtime answers, else local executables.</summary>
    Auto,
    Containers,
    Local,
    External,
}

/// <summary>What the machine offers, gathered once at start.</summary>
public sealed record MachineFacts(
    bool HasExternalConnectionStrings,
    bool ContainerRuntimeAnswers,
    string? PostgresBinDirectory,
    string? RedisServerPath,
    bool CanInstallRedis);

public sealed record InfrastructurePlan(InfrastructureMode Mode, bool InstallRedis);

public sealed class InfrastructureUnavailableException(string message) : Exception(message);

/// <summary>Chooses how Postgres and Redis run. Pure, so the choice is testable without touching the machine.</summary>
public static class InfrastructurePlanner
{
    public static InfrastructurePlan Choose(InfrastructureMode requested, MachineFacts facts) => requested switch
    {
        InfrastructureMode.External => facts.HasExternalConnectionStrings
            ? new(InfrastructureMode.External, false)
            : throw new InfrastructureUnavailableException(
                "Infrastructure:Mode is External but ConnectionStrings:batchdb and ConnectionStrings:redis are not both set. " +
                "Set them (e.g. ConnectionStrings__batchdb='Host=...;Database=batchdb;Username=...;Password=...' and ConnectionStrings__redis='host:6379').")
        ,
        InfrastructureMode.Containers => facts.ContainerRuntimeAnswers
            ? new(InfrastructureMode.Containers, false)
            : throw new InfrastructureUnavailableException(
                "Infrastructure:Mode is Containers but neither `docker info` nor `podman info` answers. Start the Docker engine " +
                "(or Podman), or run with Infrastructure__Mode=Local to use local PostgreSQL and Redis servers."),
        InfrastructureMode.Local => PlanLocal(facts),
        _ => facts.HasExternalConnectionStrings ? new(InfrastructureMode.External, false)
            : facts.ContainerRuntimeAnswers ? new(InfrastructureMode.Containers, false)
            : PlanLocal(facts),
    };

    private static InfrastructurePlan PlanLocal(MachineFacts facts)
    {
        var missing = new List<string>();
        if (facts.PostgresBinDirectory is null)
        {
            missing.Add("the PostgreSQL server (apt-get install -y postgresql)");
        }
        if (facts.RedisServerPath is null && !facts.CanInstallRedis)
        {
            missing.Add("redis-server (apt-get install -y redis-server)");
        }
        if (missing.Count > 0)
        {
            throw new InfrastructureUnavailableException(
                "AspireBatch needs PostgreSQL and Redis. No container runtime answers (docker/podman), no external " +
                "connection strings are set, and these local servers are missing: " + string.Join("; ", missing) +
                ". Install them as root, start Docker, or set ConnectionStrings__batchdb and ConnectionStrings__redis.");
        }
        return new(InfrastructureMode.Local, facts.RedisServerPath is null);
    }
}
