using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

[assembly: AssemblyFixture(typeof(AspireBatch.Tests.StackFixture))]

namespace AspireBatch.Tests;

/// <summary>The real AppHost with throw-away Postgres and Redis, started once for every test in the assembly.</summary>
public sealed class StackFixture : IAsyncLifetime
{
    public const string ApiKey = "test-api-key-123";
    public const string SimulatorKey = "sim-test-key";
    /// <summary>The Data Protection key ring's secret (AppHost parameter keyring-secret): a dump decrypts with it, and only with it.</summary>
    public const string KeyRingSecret = "test-keyring-secret-0123456789abcdef-xyz";
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private DistributedApplication? _app;
    private readonly ConcurrentQueue<string> _logs = new();
    private readonly CancellationTokenSource _stopLogs = new();

    public DistributedApplication App => _app ?? throw new InvalidOperationException("the stack is not started");
    public HttpClient Api { get; private set; } = null!;
    public HttpClient SimPrimary { get; private set; } = null!;
    public HttpClient SimFallback { get; private set; } = null!;
    public string DatabaseConnectionString { get; private set; } = "";
    public string RedisConnectionString { get; private set; } = "";

    /// <summary>The resources that reported healthy while the stack started.</summary>
    public List<string> HealthyAtStart { get; } = [];

    /// <summary>Every line the Api and Workers logged so far.</summary>
    public IReadOnlyCollection<string> Logs => _logs;

    /// <summary>Every rollback announcement the stack posted to the webhook.</summary>
    public ConcurrentQueue<JsonElement> Webhooks { get; } = new();
    private WebApplication? _webhookReceiver;

    public async ValueTask InitializeAsync()
    {
        var receiver = WebApplication.CreateSlimBuilder();
        receiver.WebHost.UseUrls("http://127.0.0.1:0");
        _webhookReceiver = receiver.Build();
        _webhookReceiver.MapPost("/hook", (JsonElement body) => { Webhooks.Enqueue(body.Clone()); return Results.Ok(); });
        await _webhookReceiver.StartAsync();
        var webhookUrl = _webhookReceiver.Urls.First() + "/hook";

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AspireBatch_AppHost>(
        [
            "Infrastructure:Ephemeral=true",
            $"Parameters:api-key={ApiKey}",
            $"Parameters:simulator-key={SimulatorKey}",
            $"Parameters:keyring-secret={KeyRingSecret}",
            "Parameters:operator-user=operator",
            "Parameters:operator-password=operator-test",
            // Short leases so a killed worker's items come back within seconds.
            "Worker:LeaseSeconds=8",
            "Worker:BaseRetryDelayMilliseconds=100",
            "Api:MaxUploadBytes=5000000",
            $"Rollback:WebhookUrl={webhookUrl}",
            "Worker:HealthCheckSeconds=5",
            "Api:MaxLineBytes=100000",
            // Provider-native batches (NativeBatch*Tests): small chunks so a job spans batches, quick polls, a short
            // real-time reserve for auto deadlines, and a hold after each stored stage so a test can kill a worker there.
            "Worker:NativeBatch:MaxLines=4000",
            "Worker:NativeBatch:WriteBatchSize=500",
            "Worker:NativeBatch:TickMilliseconds=250",
            "Worker:NativeBatch:FirstPollMilliseconds=250",
            "Worker:NativeBatch:MaxPollSeconds=1",
            "Worker:NativeBatch:RealtimeReserveSeconds=30",
            "Worker:NativeBatch:StageHoldMilliseconds=1500",
            // Retention (RetentionPolicyTests): a sweep every second, so an expired file or an old job goes within seconds.
            "Worker:Retention:SweepInterval=00:00:01",
        ], (options, _) => options.DisableDashboard = true);
        // Health probes fail by design until each service is up; those retries are not news.
        builder.Services.AddLogging(logging => logging
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None)
            .AddFilter("Aspire.Hosting", LogLevel.Warning)
            // Resource and HTTP logs go to Logs (below), not to the console: a failure's message must not drown in them.
            .AddFilter("AspireBatch.AppHost.Resources", LogLevel.Warning)
            .AddFilter("System.Net.Http.HttpClient", LogLevel.Warning)
            .AddFilter("Polly", LogLevel.Warning));
        _app = await builder.BuildAsync().WaitAsync(StartTimeout);
        await _app.StartAsync().WaitAsync(StartTimeout);
        foreach (var resource in new[] { "api", "sim-primary", "sim-fallback", "worker", "dashboard", "postgres", "redis-server" })
        {
            await _app.ResourceNotifications.WaitForResourceHealthyAsync(resource).WaitAsync(StartTimeout);
            HealthyAtStart.Add(resource);
        }
        CaptureLogs("api");
        CaptureLogs("worker");

        Api = _app.CreateHttpClient("api");
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        Api.Timeout = TimeSpan.FromMinutes(5);
        SimPrimary = _app.CreateHttpClient("sim-primary");
        SimFallback = _app.CreateHttpClient("sim-fallback");
        DatabaseConnectionString = (await _app.GetConnectionStringAsync("batchdb"))!;
        RedisConnectionString = (await _app.GetConnectionStringAsync("redis"))!;
    }

    private void CaptureLogs(string resource)
    {
        var logs = App.Services.GetRequiredService<ResourceLoggerService>();
        var model = App.Services.GetRequiredService<DistributedApplicationModel>();
        foreach (var instance in model.Resources.Where(r => r.Name == resource))
        {
            _ = Task.Run(async () =>
            {
                try
                {
                    await foreach (var batch in logs.WatchAsync(instance).WithCancellation(_stopLogs.Token))
                    {
                        foreach (var line in batch)
                        {
                            _logs.Enqueue(line.Content);
                        }
                    }
                }
                catch (OperationCanceledException)
                {
                }
            });
        }
    }

    /// <summary>
    /// This stack's live processes of one service ("Api", "Worker"), oldest pid first: found by their program (process
    /// names are cut at 15 characters) and by the database they were given, so another stack's are never touched;
    /// zombies (killed, not yet reaped) are left out.
    /// </summary>
    public List<System.Diagnostics.Process> ServiceProcesses(string service) =>
        Directory.GetDirectories("/proc")
            .Select(d => int.TryParse(Path.GetFileName(d), out var pid) ? pid : 0)
            .Where(pid => pid > 0)
            .Where(pid =>
            {
                try
                {
                    var program = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0')[0];
                    var stat = File.ReadAllText($"/proc/{pid}/stat");
                    return program.EndsWith($"/AspireBatch.{service}", StringComparison.Ordinal)
                        && !stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z')
                        && File.ReadAllText($"/proc/{pid}/environ").Split('\0').Contains($"ConnectionStrings__batchdb={DatabaseConnectionString}");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return false;
                }
            })
            .Select(System.Diagnostics.Process.GetProcessById)
            .OrderBy(p => p.Id)
            .ToList();

    /// <summary>The worker replicas' resource ids (<c>worker-xxxx</c>): the notifications replay every resource's current state first.</summary>
    public async Task<string[]> WorkerInstancesAsync()
    {
        var ids = new HashSet<string>();
        using var replayed = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await foreach (var update in App.ResourceNotifications.WatchAsync(replayed.Token))
            {
                if (update.Resource.Name == "worker")
                {
                    ids.Add(update.ResourceId);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        return [.. ids.Order()];
    }

    public async Task<NpgsqlConnection> OpenDatabaseAsync()
    {
        var connection = new NpgsqlConnection(DatabaseConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task<T> ScalarAsync<T>(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await OpenDatabaseAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return (T)Convert.ChangeType((await command.ExecuteScalarAsync())!, typeof(T));
    }

    /// <summary>Puts both simulators back to a clean, fast, fault-free state.</summary>
    public async Task ResetSimulatorsAsync(int primaryLatencyMs = 5, int fallbackLatencyMs = 5)
    {
        foreach (var (client, latency) in new[] { (SimPrimary, primaryLatencyMs), (SimFallback, fallbackLatencyMs) })
        {
            (await client.PutAsJsonAsync("/admin/config", new
            {
                latencyMs = latency, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0,
                error500Rate = 0.0, error503Rate = 0.0, timeoutRate = 0.0, resetRate = 0.0, malformedJsonRate = 0.0, error429Rate = 0.0,
                labels = Array.Empty<string>(), disagreeRate = 0.0, answerSalt = "", schemaViolationRate = 0.0, schemaViolationOnReask = false,
                models = new[] { "deepseek-chat", "gpt-4.1", "claude-sonnet-4-5", "gemini-2.5-flash", "text-embedding-3-small" }, embeddingDimensions = 256,
            })).EnsureSuccessStatusCode();
            (await client.PostAsync("/admin/reset", null)).EnsureSuccessStatusCode();
        }
        // A test that broke a simulator on purpose may have opened its circuit: close them all.
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(RedisConnectionString);
        var server = redis.GetServers()[0];
        foreach (var key in server.Keys(pattern: "aspirebatch:circuit:*").ToList())
        {
            await redis.GetDatabase().KeyDeleteAsync(key);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopLogs.CancelAsync();
        if (_webhookReceiver is not null)
        {
            await _webhookReceiver.DisposeAsync();
        }
        if (_app is not null)
        {
            await _app.StopAsync().WaitAsync(TimeSpan.FromMinutes(1));
            await _app.DisposeAsync();
        }
    }
}
