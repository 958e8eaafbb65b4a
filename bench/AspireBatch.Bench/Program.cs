using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using AspireBatch.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

// AspireBatch benchmark: starts the real stack (throw-away Postgres and Redis, two workers) and prints
//   import rate of a large JSONL file,
//   P2: throughput through AspireBatch vs a bare HttpClient + Parallel.ForEachAsync script (same simulator, same concurrency),
//   P1: achieved rate / RPM limit against a simulator that enforces that limit, and the 429s it sent.
//   P3: the same limit, but the provider has none configured: the workers learn it from the simulator's headers.
// Usage: dotnet run -c Release --project bench/AspireBatch.Bench [-- --import-lines 1000000 --items 5000 --rpm 3000
//        --p3-seconds 150 --phases import,p2,p1,p3]
var options = BenchOptions.Parse(args);
const string ApiKey = "bench-api-key";
const string SimKey = "bench-sim-key";
const int Concurrency = 50;
var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);

Console.WriteLine($"AspireBatch bench: phases {string.Join(",", options.Phases)}; {options.ImportLines:N0}-line import, {options.Items:N0}-item jobs, RPM limit {options.Rpm:N0}, concurrency {Concurrency} ({Environment.ProcessorCount} cores)");
var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AspireBatch_AppHost>(
[
    "Infrastructure:Ephemeral=true",
    $"Parameters:api-key={ApiKey}",
    $"Parameters:simulator-key={SimKey}",
    "Worker:Replicas=2",
    $"Worker:MaxInFlight={Concurrency / 2}",
], (o, _) => o.DisableDashboard = true);
builder.Services.AddLogging(l => l.SetMinimumLevel(LogLevel.Warning)
    .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None)
    .AddFilter("AspireBatch.AppHost.Resources", LogLevel.None)
    // The host's configuration turns these back on at Information; the figures must not drown in them.
    .AddFilter("System.Net.Http.HttpClient", LogLevel.Warning)
    .AddFilter("Aspire.Hosting", LogLevel.Warning)
    .AddFilter("Polly", LogLevel.Warning));
await using var app = await builder.BuildAsync();
await app.StartAsync();
foreach (var resource in new[] { "api", "worker", "sim-primary", "sim-fallback" })
{
    await app.ResourceNotifications.WaitForResourceHealthyAsync(resource).WaitAsync(TimeSpan.FromMinutes(4));
}
var api = app.CreateHttpClient("api");
api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
api.Timeout = TimeSpan.FromMinutes(30);
var primary = app.CreateHttpClient("sim-primary");
var fallback = app.CreateHttpClient("sim-fallback");
var database = (await app.GetConnectionStringAsync("batchdb"))!;

// Import rate.
if (options.Runs("import"))
{
    var file = Path.Combine(Path.GetTempPath(), $"aspirebatch-bench-{Guid.NewGuid():N}.jsonl");
    await using (var writer = new StreamWriter(file))
    {
        for (var i = 0; i < options.ImportLines; i++)
        {
            await writer.WriteLineAsync($$"""{"id":"r{{i}}","text":"review {{i}}: the delivery was late but the product works","stars":{{i % 5 + 1}}}""");
        }
    }
    var bytes = new FileInfo(file).Length;
    var importWatch = Stopwatch.StartNew();
    Guid importJob;
    await using (var stream = File.OpenRead(file))
    {
        using var form = new MultipartFormDataContent
        {
            { new StreamContent(stream), "file", "bench.jsonl" },
            { new StringContent("deepseek-chat"), "model" },
            { new StringContent("Classify: {{text}}"), "userTemplate" },
            { new StringContent("true"), "startPaused" },
        };
        var response = await api.PostAsync("/api/jobs", form);
        response.EnsureSuccessStatusCode();
        importJob = (await response.Content.ReadFromJsonAsync<JsonElement>(json)).GetProperty("job").GetProperty("id").GetGuid();
    }
    importWatch.Stop();
    File.Delete(file);
    // The imported job stays paused: it only measured the import.
    Console.WriteLine($"Import: {options.ImportLines:N0} lines ({bytes / 1048576.0:N1} MB) in {importWatch.Elapsed.TotalSeconds:N1} s = {options.ImportLines / importWatch.Elapsed.TotalSeconds:N0} records/s (upload, validation, tokenizer, binary COPY, commit)");
}

// P2: the same items at 200 ms latency, AspireBatch vs a bare script, concurrency 50 each.
if (options.Runs("p2"))
{
    await Configure(primary, new { latencyMs = 200, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0 });
    var bareWatch = Stopwatch.StartNew();
    using (var bare = new HttpClient { BaseAddress = primary.BaseAddress })
    {
        bare.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", SimKey);
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Items), new ParallelOptions { MaxDegreeOfParallelism = Concurrency }, async (i, ct) =>
        {
            using var response = await bare.PostAsJsonAsync("/v1/chat/completions",
                new { model = "deepseek-chat", messages = new[] { new { role = "user", content = $"Classify: item {i}" } } }, ct);
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsStringAsync(ct);
        });
    }
    bareWatch.Stop();
    var bareRate = options.Items / bareWatch.Elapsed.TotalSeconds;
    var p2Route = await CreateRouteAsync("bench-p2", "sim-primary");
    var p2 = await RunJobAsync(p2Route, options.Items);
    var p2Rate = options.Items / p2.TotalSeconds;
    Console.WriteLine($"P2: bare script {bareRate:N1} items/s, AspireBatch {p2Rate:N1} items/s (durable, claimed, written per item) -> ratio {p2Rate / bareRate:N3} (goal >= 0.9)");
}

// P1: the simulator enforces an RPM limit at 100 ms latency; the provider is configured with the same limit.
if (options.Runs("p1"))
{
    await Configure(fallback, new { latencyMs = 100, latencyJitterMs = 0, requestsPerMinute = options.Rpm, tokensPerMinute = 0 });
    await fallback.PostAsync("/admin/reset", null);
    var limited = await api.PostAsJsonAsync("/api/providers", new ProviderRequest("bench-limited", fallback.BaseAddress!.ToString().TrimEnd('/') + "/v1", SimKey, RequestsPerMinute: options.Rpm));
    limited.EnsureSuccessStatusCode();
    var limitedId = (await limited.Content.ReadFromJsonAsync<ProviderDto>(json))!.Id;
    (await api.PutAsJsonAsync($"/api/providers/{limitedId}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.42m, 0.42m))).EnsureSuccessStatusCode();
    var p1Route = await CreateRouteAsync("bench-p1", "bench-limited");
    var p1Job = await CreateJobAsync(p1Route, options.Items);
    await WaitCompletedAsync(p1Job);
    double callSpan;
    await using (var connection = new NpgsqlConnection(database))
    {
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT extract(epoch FROM max(started_at) - min(started_at)) FROM attempts WHERE job_id = @job", connection);
        command.Parameters.AddWithValue("job", p1Job);
        callSpan = Convert.ToDouble(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
    using var stats = JsonDocument.Parse(await fallback.GetStringAsync("/admin/stats"));
    var achievedPerMinute = (options.Items - 1) / callSpan * 60;
    Console.WriteLine($"P1: achieved {achievedPerMinute:N0} requests/min of a {options.Rpm:N0} limit -> {achievedPerMinute / options.Rpm:N3} (goal >= 0.97); 429s sent by the simulator: {stats.RootElement.GetProperty("rateLimited").GetInt64()} (goal 0)");
}

// P3: the simulator enforces the limit and states it in x-ratelimit-limit-requests; the provider has no configured
// limit. Calls start unpaced, the workers learn the limit from the first answers and share it through Redis.
if (options.Runs("p3"))
{
    await Configure(fallback, new { latencyMs = 100, latencyJitterMs = 0, requestsPerMinute = options.Rpm, tokensPerMinute = 0 });
    await fallback.PostAsync("/admin/reset", null);
    var learning = await api.PostAsJsonAsync("/api/providers", new ProviderRequest("bench-learning", fallback.BaseAddress!.ToString().TrimEnd('/') + "/v1", SimKey));
    learning.EnsureSuccessStatusCode();
    var learningId = (await learning.Content.ReadFromJsonAsync<ProviderDto>(json))!.Id;
    (await api.PutAsJsonAsync($"/api/providers/{learningId}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.42m, 0.42m))).EnsureSuccessStatusCode();
    var p3Route = await CreateRouteAsync("bench-p3", "bench-learning");
    // Enough items to keep the limit busy for the whole run.
    var p3Items = options.Rpm * options.P3Seconds / 60;
    var p3Job = await CreateJobAsync(p3Route, p3Items);
    await WaitCompletedAsync(p3Job);
    double afterFirstMinute, afterSpan;
    await using (var connection = new NpgsqlConnection(database))
    {
        await connection.OpenAsync();
        // Successful calls started after the first minute, over the time from then to the last one.
        await using var command = new NpgsqlCommand("""
            WITH first AS (SELECT min(started_at) AS t0 FROM attempts WHERE job_id = @job)
            SELECT count(*) FILTER (WHERE a.started_at >= f.t0 + interval '60 seconds' AND a.status_code = 200),
                   extract(epoch FROM max(a.started_at) - (f.t0 + interval '60 seconds'))
            FROM attempts a, first f WHERE a.job_id = @job GROUP BY f.t0
            """, connection);
        command.Parameters.AddWithValue("job", p3Job);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        afterFirstMinute = reader.GetInt64(0);
        afterSpan = Convert.ToDouble(reader.GetValue(1), CultureInfo.InvariantCulture);
    }
    using var p3Stats = JsonDocument.Parse(await fallback.GetStringAsync("/admin/stats"));
    var p3Calls = p3Stats.RootElement.GetProperty("totalRequests").GetInt64();
    var p3Refused = p3Stats.RootElement.GetProperty("rateLimited").GetInt64();
    var p3Health = await api.GetFromJsonAsync<List<ProviderHealthDto>>("/api/providers/health", json);
    var p3Learned = p3Health!.Single(h => h.ProviderId == learningId).LearnedLimits.FirstOrDefault();
    var p3Rate = Math.Max(0, afterFirstMinute - 1) / afterSpan * 60;
    Console.WriteLine($"P3: no configured limit, learned {p3Learned?.RequestsPerMinute?.ToString("N0", CultureInfo.InvariantCulture) ?? "nothing"} RPM from {p3Learned?.Source ?? "-"}; " +
        $"after the first minute {p3Rate:N0} requests/min of a {options.Rpm:N0} limit -> {p3Rate / options.Rpm:N3} (goal >= 0.95); " +
        $"429s {p3Refused:N0} of {p3Calls:N0} calls = {(p3Calls == 0 ? 0 : (double)p3Refused / p3Calls):P2} (goal <= 1 %); {p3Items:N0} items over {options.P3Seconds} s");
}

await app.StopAsync();
return;

async Task<string> CreateRouteAsync(string name, string provider)
{
    var response = await api.PostAsJsonAsync("/api/routes", new RouteRequest(name, [new RouteTargetRequest(provider, "deepseek-chat")], new RouteThresholds(AutoRollback: false)));
    response.EnsureSuccessStatusCode();
    return name;
}

async Task<Guid> CreateJobAsync(string model, int items)
{
    var content = new StringBuilder();
    for (var i = 0; i < items; i++)
    {
        content.Append(CultureInfo.InvariantCulture, $$"""{"id":"i{{i}}","text":"item {{i}}"}""").Append('\n');
    }
    using var form = new MultipartFormDataContent
    {
        { new StringContent(content.ToString()), "file", "items.jsonl" },
        { new StringContent(model), "model" },
        { new StringContent("Classify: {{text}}"), "userTemplate" },
    };
    var response = await api.PostAsync("/api/jobs", form);
    response.EnsureSuccessStatusCode();
    return (await response.Content.ReadFromJsonAsync<JsonElement>(json)).GetProperty("job").GetProperty("id").GetGuid();
}

async Task<JobDto> WaitCompletedAsync(Guid id)
{
    while (true)
    {
        var job = (await api.GetFromJsonAsync<JobDto>($"/api/jobs/{id}", json))!;
        if (job.State is JobState.Completed or JobState.Failed or JobState.Cancelled or JobState.Paused)
        {
            return job;
        }
        await Task.Delay(200);
    }
}

async Task<TimeSpan> RunJobAsync(string model, int items)
{
    var id = await CreateJobAsync(model, items);
    var job = await WaitCompletedAsync(id);
    return job.CompletedAt!.Value - job.CreatedAt;
}

static async Task Configure(HttpClient simulator, object settings) =>
    (await simulator.PutAsJsonAsync("/admin/config", settings)).EnsureSuccessStatusCode();

internal sealed record BenchOptions(int ImportLines, int Items, int Rpm, int P3Seconds, IReadOnlySet<string> Phases)
{
    private static readonly string[] AllPhases = ["import", "p2", "p1", "p3"];

    public bool Runs(string phase) => Phases.Contains(phase);

    public static BenchOptions Parse(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var phases = (Value("--phases") ?? string.Join(",", AllPhases)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.ToLowerInvariant()).ToHashSet();
        if (phases.Count == 0 || phases.Except(AllPhases).Any())
        {
            throw new ArgumentException($"--phases takes a comma-separated list of {string.Join(", ", AllPhases)}, not \"{Value("--phases")}\"");
        }
        var options = new BenchOptions(
            int.Parse(Value("--import-lines") ?? "1000000", CultureInfo.InvariantCulture),
            int.Parse(Value("--items") ?? "5000", CultureInfo.InvariantCulture),
            int.Parse(Value("--rpm") ?? "3000", CultureInfo.InvariantCulture),
            int.Parse(Value("--p3-seconds") ?? "150", CultureInfo.InvariantCulture),
            phases);
        if (options.P3Seconds < 90)
        {
            throw new ArgumentException("--p3-seconds must be 90 or more: P3 measures after the first minute");
        }
        return options;
    }
}
