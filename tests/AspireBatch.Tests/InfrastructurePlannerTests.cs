using AspireBatch.AppHost.Infrastructure;

namespace AspireBatch.Tests;

public sealed class InfrastructurePlannerTests
{
    private static readonly MachineFacts Bare = new(false, false, null, null, false);
    private static readonly MachineFacts LocalTools = new(false, false, "/usr/lib/postgresql/15/bin", "/usr/bin/redis-server", false);

    [Fact]
    public void Auto_prefers_external_connection_strings() =>
        Assert.Equal(InfrastructureMode.External, InfrastructurePlanner.Choose(InfrastructureMode.Auto, LocalTools with { HasExternalConnectionStrings = true, ContainerRuntimeAnswers = true }).Mode);

    [Fact]
    public void Auto_takes_containers_when_a_runtime_answers() =>
        Assert.Equal(InfrastructureMode.Containers, InfrastructurePlanner.Choose(InfrastructureMode.Auto, LocalTools with { ContainerRuntimeAnswers = true }).Mode);

    [Fact]
    public void Auto_falls_back_to_local_servers() =>
        Assert.Equal(new InfrastructurePlan(InfrastructureMode.Local, false), InfrastructurePlanner.Choose(InfrastructureMode.Auto, LocalTools));

    [Fact]
    public void Local_installs_redis_when_it_is_missing_and_can_be_installed() =>
        Assert.Equal(new InfrastructurePlan(InfrastructureMode.Local, true),
            InfrastructurePlanner.Choose(InfrastructureMode.Local, LocalTools with { RedisServerPath = null, CanInstallRedis = true }));

    [Fact]
    public void Nothing_available_fails_with_what_to_install()
    {
        var error = Assert.Throws<InfrastructureUnavailableException>(() => InfrastructurePlanner.Choose(InfrastructureMode.Auto, Bare));
        Assert.Contains("apt-get install -y postgresql", error.Message);
        Assert.Contains("apt-get install -y redis-server", error.Message);
        Assert.Contains("ConnectionStrings__batchdb", error.Message);
    }

    [Fact]
    public void Containers_requested_without_a_runtime_says_so()
    {
        var error = Assert.Throws<InfrastructureUnavailableException>(() => InfrastructurePlanner.Choose(InfrastructureMode.Containers, LocalTools));
        Assert.Contains("docker info", error.Message);
    }

    [Fact]
    public void External_requested_without_connection_strings_says_which()
    {
        var error = Assert.Throws<InfrastructureUnavailableException>(() => InfrastructurePlanner.Choose(InfrastructureMode.External, LocalTools));
        Assert.Contains("ConnectionStrings:batchdb", error.Message);
    }

    [Fact]
    public void Finds_the_postgres_server_of_this_machine()
    {
        // On machines of this kind the server binaries sit under /usr/lib/postgresql/<version>/bin.
        var bin = MachineProbe.FindPostgresBin(null);
        Assert.NotNull(bin);
        Assert.True(File.Exists(Path.Combine(bin!, "initdb")));
    }
}
