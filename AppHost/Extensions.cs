using AspireBatch.AppHost.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace AspireBatch.AppHost;

internal static class Extensions
{
    /// <summary>References the database and Redis and waits until the servers behind them answer.</summary>
    public static IResourceBuilder<ProjectResource> WithInfrastructure(this IResourceBuilder<ProjectResource> project, BatchInfrastructure infrastructure)
    {
        project.WithReference(infrastructure.Database).WithReference(infrastructure.Redis);
        foreach (var dependency in infrastructure.WaitFor)
        {
            project.WaitFor(dependency);
        }
        return project;
    }

    /// <summary>
    /// The secrets the Data Protection key ring is encrypted with: <c>keyring-secret</c> always (development default in
    /// appsettings.json), <c>keyring-previous-secret</c> only while a rotation is under way, and a certificate when
    /// <c>DataProtection:CertificatePath</c> is set (its password as parameter <c>keyring-certificate-password</c>).
    /// The optional ones are declared only when configured: a declared parameter without a value stops the stack.
    /// </summary>
    public static KeyRingParameters AddKeyRing(this IDistributedApplicationBuilder builder)
    {
        IResourceBuilder<ParameterResource>? Optional(string name) =>
            string.IsNullOrEmpty(builder.Configuration[$"Parameters:{name}"]) ? null : builder.AddParameter(name, secret: true);

        var certificatePath = builder.Configuration["DataProtection:CertificatePath"];
        return new KeyRingParameters(
            builder.AddParameter("keyring-secret", secret: true),
            Optional("keyring-previous-secret"),
            string.IsNullOrWhiteSpace(certificatePath) ? null : certificatePath,
            Optional("keyring-certificate-password"));
    }

    /// <summary>Gives a service that reads provider keys the key ring's secrets (section DataProtection).</summary>
    public static IResourceBuilder<ProjectResource> WithKeyRing(this IResourceBuilder<ProjectResource> project, KeyRingParameters keyRing)
    {
        project.WithEnvironment("DataProtection__KeyRingSecret", keyRing.Secret);
        if (keyRing.PreviousSecret is not null)
        {
            project.WithEnvironment("DataProtection__PreviousKeyRingSecrets__0", keyRing.PreviousSecret);
        }
        if (keyRing.CertificatePath is not null)
        {
            project.WithEnvironment("DataProtection__CertificatePath", keyRing.CertificatePath);
        }
        if (keyRing.CertificatePassword is not null)
        {
            project.WithEnvironment("DataProtection__CertificatePassword", keyRing.CertificatePassword);
        }
        return project;
    }

    /// <summary>Hands the AppHost's settings of a section (e.g. Worker:LeaseSeconds) to the project as environment.</summary>
    public static IResourceBuilder<ProjectResource> WithSettingsFrom(this IResourceBuilder<ProjectResource> project, IConfigurationSection section)
    {
        foreach (var setting in section.GetChildren().Where(s => s.Value is not null && s.Key is not ("Replicas" or "Key")))
        {
            project.WithEnvironment($"{section.Key}__{setting.Key}", setting.Value);
        }
        // One level of subsections too (e.g. Worker:NativeBatch:MaxLines).
        foreach (var setting in section.GetChildren().Where(s => s.Value is null).SelectMany(s => s.GetChildren()).Where(s => s.Value is not null))
        {
            project.WithEnvironment(setting.Path.Replace(":", "__", StringComparison.Ordinal), setting.Value);
        }
        if (section.Key == "Worker")
        {
            // Each worker falls back to its share of a limit when Redis is away.
            project.WithEnvironment("Worker__ExpectedReplicas", section["Replicas"] ?? "2");
        }
        return project;
    }

    /// <summary>An OpenAI-compatible simulator instance, so a fresh stack runs jobs without any provider key.</summary>
    public static IResourceBuilder<ProjectResource> AddSimulator(this IDistributedApplicationBuilder builder, string name, int port, int latencyMs, IResourceBuilder<ParameterResource> key) =>
        builder.AddProject<Projects.AspireBatch_Simulator>(name)
            .WithEndpoint("http", endpoint => endpoint.Port = port)
            .WithEnvironment("Simulator__ApiKey", key)
            .WithEnvironment("Simulator__LatencyMs", latencyMs.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .WithHttpHealthCheck("/health");

    /// <summary>Registers a simulator as a provider on first start (and keeps its URL current).</summary>
    public static IResourceBuilder<ProjectResource> WithSeedProvider(this IResourceBuilder<ProjectResource> migrator, int index, IResourceBuilder<ProjectResource> simulator, IResourceBuilder<ParameterResource> key) =>
        migrator
            .WithEnvironment($"Seed__Providers__{index}__Name", simulator.Resource.Name)
            .WithEnvironment($"Seed__Providers__{index}__BaseUrl", ReferenceExpression.Create($"{simulator.GetEndpoint("http")}/v1"))
            .WithEnvironment($"Seed__Providers__{index}__ApiKey", key)
            .WaitFor(simulator);
}

internal sealed record KeyRingParameters(
    IResourceBuilder<ParameterResource> Secret,
    IResourceBuilder<ParameterResource>? PreviousSecret,
    string? CertificatePath,
    IResourceBuilder<ParameterResource>? CertificatePassword);
