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

    /// <summary>Hands the AppHost's settings of a section (e.g. Worker:LeaseSeconds) to the project as environment.</summary>
    public static IResourceBuilder<ProjectResource> WithSettingsFrom(this IResourceBuilder<ProjectResource> project, IConfigurationSection section)
    {
        foreach (var setting in section.GetChildren().Where(s => s.Value is not null && s.Key is not ("Replicas" or "Key")))
        {
            project.WithEnvironment($"{section.Key}__{setting.Key}", setting.Value);
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
