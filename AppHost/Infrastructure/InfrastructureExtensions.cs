using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using System.Text;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace AspireBatch.AppHost.Infrastructure;

/// <summary>The database and cache every service references, and the resources they must wait for.</summary>
public sealed record BatchInfrastructure(
    IResourceBuilder<IResourceWithConnectionString> Database,
    IResourceBuilder<IResourceWithConnectionString> Redis,
    IReadOnlyList<IResourceBuilder<IResource>> WaitFor);

public static class InfrastructureExtensions
{
    public static BatchInfrastructure AddBatchInfrastructure(this IDistributedApplicationBuilder builder)
    {
        var config = builder.Configuration;
        var requested = config.GetValue("Infrastructure:Mode", InfrastructureMode.Auto);
        var facts = MachineProbe.Gather(config, requested);
        var plan = InfrastructurePlanner.Choose(requested, facts with { CanInstallRedis = facts.CanInstallRedis && config.GetValue("Infrastructure:AutoInstall", true) });
        var ephemeral = config.GetValue("Infrastructure:Ephemeral", false);
        Console.WriteLine($"AspireBatch infrastructure: {plan.Mode}{(ephemeral ? " (throw-away data)" : "")}");

        return plan.Mode switch
        {
            InfrastructureMode.External => new(builder.AddConnectionString("batchdb"), builder.AddConnectionString("redis"), []),
            InfrastructureMode.Containers => builder.AddContainers(ephemeral),
            _ => builder.AddLocalServers(facts, plan, ephemeral),
        };
    }

    private static BatchInfrastructure AddContainers(this IDistributedApplicationBuilder builder, bool ephemeral)
    {
        var postgres = builder.AddPostgres("postgres");
        var redis = builder.AddRedis("redis");
        if (!ephemeral)
        {
            postgres.WithDataVolume("aspirebatch-postgres").WithLifetime(ContainerLifetime.Persistent);
            redis.WithDataVolume("aspirebatch-redis");
        }
        var database = postgres.AddDatabase("batchdb");
        return new(database, redis, [postgres, redis]);
    }

    private static BatchInfrastructure AddLocalServers(this IDistributedApplicationBuilder builder, MachineFacts facts, InfrastructurePlan plan, bool ephemeral)
    {
        if (plan.InstallRedis)
        {
            MachineProbe.InstallRedis();
        }
        var redisServer = MachineProbe.FindOnPath("redis-server")
            ?? throw new InfrastructureUnavailableException("redis-server is not installed: apt-get install -y redis-server");
        var dataDirectory = DataDirectory(builder.Configuration, ephemeral);
        Directory.CreateDirectory(dataDirectory);
        Console.WriteLine($"AspireBatch data: {dataDirectory}");

        var postgres = builder.AddExecutable("postgres", "bash", dataDirectory,
                Path.Combine(builder.AppHostDirectory, "scripts", "postgres.sh"),
                Path.Combine(dataDirectory, "postgres"), facts.PostgresBinDirectory!)
            .WithEndpoint(scheme: "tcp", env: "PORT", name: "tcp")
            .WithEnvironment("PG_EPHEMERAL", ephemeral ? "true" : "false");
        var postgresPort = postgres.GetEndpoint("tcp");
        var database = builder.AddConnectionString("batchdb",
            ReferenceExpression.Create($"Host=127.0.0.1;Port={postgresPort.Property(EndpointProperty.Port)};Username=postgres;Database=batchdb"));
        var postgresAdmin = ReferenceExpression.Create($"Host=127.0.0.1;Port={postgresPort.Property(EndpointProperty.Port)};Username=postgres;Database=postgres;Timeout=3");
        builder.Services.AddHealthChecks().AddAsyncCheck("postgres-ready", ct => PostgresAnswers(postgresAdmin, ct));
        postgres.WithHealthCheck("postgres-ready");

        var redisDirectory = Path.Combine(dataDirectory, "redis");
        Directory.CreateDirectory(redisDirectory);
        // redis-server takes its port as an argument, so a shell hands it the port the orchestrator chose.
        var redis = builder.AddExecutable("redis-server", "bash", redisDirectory,
                "-c", "exec \"$0\" --port \"$PORT\" \"$@\"", redisServer,
                "--bind", "127.0.0.1", "--dir", redisDirectory,
                "--appendonly", ephemeral ? "no" : "yes", "--save", "")
            .WithEndpoint(scheme: "tcp", env: "PORT", name: "tcp");
        var redisPort = redis.GetEndpoint("tcp");
        var redisConnection = builder.AddConnectionString("redis",
            ReferenceExpression.Create($"127.0.0.1:{redisPort.Property(EndpointProperty.Port)}"));
        builder.Services.AddHealthChecks().AddAsyncCheck("redis-ready", ct => RedisAnswers(redisPort, ct));
        redis.WithHealthCheck("redis-ready");

        return new(database, redisConnection, [postgres, redis]);
    }

    private static string DataDirectory(IConfiguration configuration, bool ephemeral)
    {
        if (ephemeral)
        {
            return Path.Combine(Path.GetTempPath(), "aspirebatch-" + Guid.NewGuid().ToString("N")[..12]);
        }
        if (configuration["Infrastructure:DataDirectory"] is { Length: > 0 } configured)
        {
            return Path.GetFullPath(configured);
        }
        // Root's home is closed to the postgres user, so root keeps the data in /var/lib.
        return Environment.UserName == "root"
            ? "/var/lib/aspirebatch"
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "aspirebatch");
    }

    private static async Task<HealthCheckResult> PostgresAnswers(ReferenceExpression connectionString, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(await connectionString.GetValueAsync(cancellationToken));
            await connection.OpenAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }

    private static async Task<HealthCheckResult> RedisAnswers(EndpointReference endpoint, CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", endpoint.Port, cancellationToken);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, cancellationToken);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal)
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy("redis did not answer PING");
        }
        catch (Exception e)
        {
            return HealthCheckResult.Unhealthy(e.Message);
        }
    }
}
