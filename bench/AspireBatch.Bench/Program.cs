using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using Aspire.Hosting.ApplicationModel;
using AspireBatch.Bench;
using AspireBatch.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

// AspireBatch benchmark: starts the real stack (throw-away Postgres and Redis, two workers) and prints
//   import rate of a large JSONL file,
//   P2: throughput through AspireBatch vs a bare HttpClient + Parallel.ForEachAsync script (same simulator, same concurrency),
//   P1: achieved rate / RPM limit against a simulator that enforces that limit, and the 429s it sent.
//   P3: the same limit, but the provider has none configured: the workers learn it from the simulator's headers.
//   redis (opt-in, ~4 min): records/s before, during and after a 30 s Redis outage (resource-stop / resource-start),
//          for a provider without limits and for one with an RPM limit, and the records failed (goal 0).
//   soak (opt-in, ~20-40 min for 1,000,000 records on 2 cores): a 10,000-record job, then a --soak-items job, each
//          uploaded as JSONL through the Api and run on the fast simulator (1 ms, no limits): peak RSS of the Api and
//          each worker (1M / 10k, goal <= 1.2), the claim statement's p99 near the start and the end, records/s (and
//          per core), table and index size per million records.
//   dedup (opt-in, ~1 min): a --dedup-items job (100,000) at temperature 0 in which 40 % of the records repeat an
//          earlier record's text, on the fast simulator: records, chat calls the simulator served, calls / records
//          (goal <= 0.6), and the run's records/s.
//   native (opt-in, ~1 min): the same --native-items job (10,000) in realtime mode and in provider-batch mode (the
//          simulator's /v1/batches at a 50 % discount): cost, run time, the estimate's two bounds, and the simulator's
//          real-time calls and batch lines answered.
//   importratio (opt-in, ~2 min): the import of the --import-lines JSONL file through the Api against psql's \copy of the
//          same file into a table of the same shape and indexes (LIKE items INCLUDING ALL), twice each, side by side;
//          with the CPU each part of the stack used meanwhile.
//   latency (opt-in, ~1 min): the Worker's added latency per call, p50 and p99: the call span ("chat <model>") minus the
//          simulator's own server span of that call, from spans both export to an OTLP receiver in the bench (one
//          item trace in 10 sampled), at 200 ms simulated latency, two workers.
//   scale (opt-in, ~4 min): records/s with 1, 2, 4 and 8 worker processes (25 calls each) at 500 ms simulated latency
//          and the ratio to 1 worker; the claim statement's p99 while 8 workers claim; durable records/s per core at
//          0 ms latency with 2 and 8 workers; the CPU each part of the stack used (what bounds the ceiling).
// Usage: dotnet run -c Release --project bench/AspireBatch.Bench [-- --import-lines 1000000 --items 5000 --rpm 3000
//        --p3-seconds 150 --soak-items 1000000 --dedup-items 100000 --phases import,p2,p1,p3]
//        --phases defaults to import,p2,p1,p3 (about 6 min); add redis, soak, dedup and native (--native-items 10000) by name, or --phases all.
var options = BenchOptions.Parse(args);
const string ApiKey = "bench-api-key";
const string SimKey = "bench-sim-key";
const int Concurrency = 50;
// Items a claim asks for in the soak's probe: a worker's prefetch (MaxInFlight / 2), about what its steady-state claims take.
const int ClaimCount = Concurrency / 4;
var json = new JsonSerializerOptions(JsonSerializerDefaults.Web);

// The scale phase needs 8 worker replicas; the other phases run on 2 of them (the rest are stopped until scale).
var workerReplicas = options.Runs("scale") ? 8 : 2;
// The latency phase reads spans: the workers and the primary simulator export them to a receiver in the bench.
await using var otlp = options.Runs("latency") ? await OtlpReceiver.StartAsync() : null;
Console.WriteLine($"AspireBatch bench: phases {string.Join(",", options.Phases)}; {options.ImportLines:N0}-line import, {options.Items:N0}-item jobs, RPM limit {options.Rpm:N0}, concurrency {Concurrency} ({Environment.ProcessorCount} cores)");
var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AspireBatch_AppHost>(
[
    "Infrastructure:Ephemeral=true",
    $"Parameters:api-key={ApiKey}",
    $"Parameters:simulator-key={SimKey}",
    $"Worker:Replicas={workerReplicas}",
    $"Worker:MaxInFlight={Concurrency / 2}",
], (o, _) => o.DisableDashboard = true);
if (options.Runs("latency") || options.Runs("scale"))
{
    // Workers call the simulator on its own port, not through the orchestrator's development proxy (a userspace hop
    // a cluster does not have, which costs milliseconds on two busy cores).
    var port = FreePort();
    builder.CreateResourceBuilder<ProjectResource>("sim-primary").WithEndpoint("http", e => { e.IsProxied = false; e.Port = port; e.TargetPort = port; });
}
if (otlp is not null)
{
    foreach (var name in new[] { "worker", "sim-primary" })
    {
        builder.CreateResourceBuilder<ProjectResource>(name)
            .WithEnvironment("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.Endpoint)
            .WithEnvironment("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .WithEnvironment("OTEL_BSP_SCHEDULE_DELAY", "1000")
            .WithEnvironment("OTEL_BSP_MAX_QUEUE_SIZE", "65536")
            // Each item is its own trace (ExecutionEngine): one in ten is recorded, so exporting costs the workers little.
            // The simulator follows the caller's decision (parent-based by default).
            .WithEnvironment("OTEL_TRACES_SAMPLER", name == "worker" ? "traceidratio" : "parentbased_always_on")
            .WithEnvironment("OTEL_TRACES_SAMPLER_ARG", "0.1")
            .WithEnvironment("OTEL_METRIC_EXPORT_INTERVAL", "60000");
    }
}
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
if (workerReplicas > 2)
{
    await SetWorkersAsync(2);
}

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

// Redis outage: a few thousand records at steady load; records/s for 20 s before, 30 s with Redis stopped (Aspire's
// resource-stop, as the tests do), and 20 s after resource-start. Once for a provider without limits (calls paced by
// latency only: goal ratio 1.0) and once for one with an RPM limit (the workers fall back to their local shares of it:
// goal >= 0.5). Rates are counted from the items' completed_at in the database, so no Api read during the outage skews them.
if (options.Runs("redis"))
{
    var model = app.Services.GetRequiredService<DistributedApplicationModel>();
    var redisResource = model.Resources.Any(r => r.Name == "redis-server") ? "redis-server" : "redis";
    var commands = app.Services.GetRequiredService<ResourceCommandService>();

    // No limit: 1 s latency at concurrency 50 holds about 50 records/s.
    await Configure(primary, new { latencyMs = 1000, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0 });
    await CreateProviderAsync("bench-redis-free", primary, requestsPerMinute: null);
    var free = await OutageAsync(await CreateRouteAsync("bench-redis-free", "bench-redis-free"), expectedRate: Concurrency / 1.0);
    Console.WriteLine($"Redis outage, provider without limits (1 s latency, concurrency {Concurrency}): {free.Describe()} (goal 1.0)");

    // An RPM limit shared through Redis, which the simulator also enforces: without Redis each worker paces its local share.
    await Configure(fallback, new { latencyMs = 100, latencyJitterMs = 0, requestsPerMinute = options.Rpm, tokensPerMinute = 0 });
    await fallback.PostAsync("/admin/reset", null);
    await CreateProviderAsync("bench-redis-limited", fallback, requestsPerMinute: options.Rpm);
    var limited = await OutageAsync(await CreateRouteAsync("bench-redis-limited", "bench-redis-limited"), expectedRate: options.Rpm / 60.0);
    using var limitedStats = JsonDocument.Parse(await fallback.GetStringAsync("/admin/stats"));
    Console.WriteLine($"Redis outage, provider limited to {options.Rpm:N0} RPM (local share {options.Rpm / 2:N0} per worker): {limited.Describe()} (goal >= 0.5); " +
        $"429s sent by the simulator {limitedStats.RootElement.GetProperty("rateLimited").GetInt64():N0}");

    async Task<OutageResult> OutageAsync(string route, double expectedRate)
    {
        // Enough records for the three windows, the restart and a margin, so the job is still busy in the last window.
        var items = (int)(expectedRate * 95);
        var id = await CreateJobAsync(route, items);
        while ((await api.GetFromJsonAsync<JobDto>($"/api/jobs/{id}", json))!.Counters.Succeeded < expectedRate * 3)
        {
            await Task.Delay(200);
        }
        var t0 = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(20));
        var t1 = DateTimeOffset.UtcNow;
        var stopped = await commands.ExecuteCommandAsync(redisResource, "resource-stop");
        if (!stopped.Success)
        {
            throw new InvalidOperationException($"resource-stop {redisResource}: {stopped.Message}");
        }
        var t2 = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(5));
        var healthWatch = Stopwatch.StartNew();
        using var health = await api.GetAsync("/health");
        var healthBody = await health.Content.ReadAsStringAsync();
        healthWatch.Stop();
        await Task.Delay(t2.AddSeconds(30) - DateTimeOffset.UtcNow is { Ticks: > 0 } left ? left : TimeSpan.Zero);
        var t3 = DateTimeOffset.UtcNow;
        var started = await commands.ExecuteCommandAsync(redisResource, "resource-start");
        if (!started.Success)
        {
            throw new InvalidOperationException($"resource-start {redisResource}: {started.Message}");
        }
        await app.ResourceNotifications.WaitForResourceHealthyAsync(redisResource).WaitAsync(TimeSpan.FromMinutes(1));
        var t4 = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(20));
        var t5 = DateTimeOffset.UtcNow;
        var job = await WaitCompletedAsync(id).WaitAsync(TimeSpan.FromMinutes(10));
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT count(*) FILTER (WHERE state = 2 AND completed_at >= @t0 AND completed_at < @t1),
                   count(*) FILTER (WHERE state = 2 AND completed_at >= @t2 AND completed_at < @t3),
                   count(*) FILTER (WHERE state = 2 AND completed_at >= @t4 AND completed_at < @t5),
                   (SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'internal'),
                   max(completed_at) < @t5
            FROM items WHERE job_id = @job
            """, connection);
        command.Parameters.AddWithValue("job", id);
        foreach (var (name, at) in new[] { ("t0", t0), ("t1", t1), ("t2", t2), ("t3", t3), ("t4", t4), ("t5", t5) })
        {
            command.Parameters.AddWithValue(name, at);
        }
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new OutageResult(items, job.State, job.Counters.Failed,
            reader.GetInt64(0) / (t1 - t0).TotalSeconds, reader.GetInt64(1) / (t3 - t2).TotalSeconds, reader.GetInt64(2) / (t5 - t4).TotalSeconds,
            (t4 - t1).TotalSeconds, healthBody, healthWatch.ElapsedMilliseconds, reader.GetInt64(3), reader.GetBoolean(4));
    }
}

// Soak: a 10,000-record job, then a --soak-items job, each uploaded as JSONL through the Api (as a user would) and run
// end to end at full speed on the fast simulator (1 ms, no limits). Prints peak RSS per service (big / small), the
// claim statement near the start and the end of the big job, records/s (and per core), and size per million records.
if (options.Runs("soak"))
{
    await Configure(primary, new { latencyMs = 1, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0 });
    await CreateProviderAsync("bench-soak", primary, requestsPerMinute: null);
    var soakRoute = await CreateRouteAsync("bench-soak", "bench-soak");

    // pg_stat_statements needs shared_preload_libraries: on the throw-away server it is set with ALTER SYSTEM and the
    // server restarted through its resource commands (the stack survives that: PostgresRestartTests), before any job.
    var statements = await ClaimStatements.AvailableAsync(database);
    string statementsNote;
    if (!statements && !await ClaimStatements.PreloadedAsync(database))
    {
        Console.WriteLine("Soak: restarting the throw-away Postgres with shared_preload_libraries = pg_stat_statements...");
        await ClaimStatements.PreloadAsync(database);
        var commands = app.Services.GetRequiredService<ResourceCommandService>();
        var stop = await commands.ExecuteCommandAsync("postgres", "resource-stop");
        var start = stop.Success ? await commands.ExecuteCommandAsync("postgres", "resource-start") : stop;
        if (start.Success)
        {
            await app.ResourceNotifications.WaitForResourceHealthyAsync("postgres").WaitAsync(TimeSpan.FromMinutes(2));
            NpgsqlConnection.ClearAllPools();
            foreach (var resource in new[] { "api", "worker" })
            {
                await app.ResourceNotifications.WaitForResourceHealthyAsync(resource).WaitAsync(TimeSpan.FromMinutes(2));
            }
            statements = await ClaimStatements.AvailableAsync(database);
        }
        statementsNote = statements ? "enabled for the soak (server restarted before the jobs)" : $"not available ({start.Message})";
    }
    else
    {
        statementsNote = statements ? "enabled" : "not available (preloaded but the view does not answer)";
    }
    Console.WriteLine($"Soak: pg_stat_statements {statementsNote}");

    // The Api's errors, to say what a failed upload met.
    var apiErrors = new System.Collections.Concurrent.ConcurrentQueue<string>();
    using var stopLogs = new CancellationTokenSource();
    _ = Task.Run(async () =>
    {
        try
        {
            await foreach (var batch in app.Services.GetRequiredService<ResourceLoggerService>().WatchAsync(app.Services.GetRequiredService<DistributedApplicationModel>().Resources.First(r => r.Name == "api")).WithCancellation(stopLogs.Token))
            {
                foreach (var line in batch.Where(l => l.IsErrorMessage || System.Text.RegularExpressions.Regex.IsMatch(l.Content, "rror|xception|fail|57P01|terminat")))
                {
                    apiErrors.Enqueue(line.Content.Length > 300 ? line.Content[..300] : line.Content);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    });
    var small = await SoakAsync(soakRoute, BenchOptions.SoakBaseline, measure: false);
    var large = await SoakAsync(soakRoute, options.SoakItems, measure: statements);
    var label = options.SoakItems >= 1_000_000 && options.SoakItems % 1_000_000 == 0 ? $"{options.SoakItems / 1_000_000}M" : $"{options.SoakItems / 1000}k";

    Console.WriteLine($"Soak (a) peak RSS, {label} job / {BenchOptions.SoakBaseline / 1000}k job (goal <= 1.2x; sampled VmRSS every second{(large.Memory.HighWaterReset ? " and VmHWM reset at each job's start" : "")}):");
    foreach (var process in large.Memory.Processes)
    {
        var before = small.Memory.Processes.FirstOrDefault(p => p.Name == process.Name);
        var smallPeak = before is null ? 0 : small.Memory.Peak(before);
        var largePeak = large.Memory.Peak(process);
        Console.WriteLine($"  {process.Name} (pid {process.Pid}): {Units.Mb(largePeak)} / {Units.Mb(smallPeak)} = {(smallPeak == 0 ? double.NaN : (double)largePeak / smallPeak):N2}x" +
            $" (peak during the upload {Units.Mb(large.Memory.PeakAtMark(process))} / {(before is null ? "-" : Units.Mb(small.Memory.PeakAtMark(before)))}; at the {label} job's end {Units.Mb(large.Memory.Current(process))})");
        var (firstHalf, secondHalf) = large.Memory.Halves(process);
        Console.WriteLine($"    within the {label} job: sampled peak while records 50-100 % ran / while 0-50 % ran = {Units.Mb(secondHalf)} / {Units.Mb(firstHalf)} = {(firstHalf == 0 ? double.NaN : (double)secondHalf / firstHalf):N2}x (growth with records)");
    }

    var early = large.Claims.Where(c => c.Progress is >= 0.01 and < 0.11).ToList();
    var late = large.Claims.Where(c => c.Progress is >= 0.89 and < 0.99).ToList();
    string Window(List<ClaimSample> samples) => samples.Count == 0 ? "no samples" :
        $"p99 {ClaimProbe.Percentile([.. samples.Select(s => s.ExecutionMs)], 0.99):N2} ms, p50 {ClaimProbe.Percentile([.. samples.Select(s => s.ExecutionMs)], 0.5):N2} ms, " +
        $"buffers p50 {ClaimProbe.Percentile([.. samples.Select(s => (double)s.Buffers)], 0.5):N0} ({samples.Count} runs)";
    Console.WriteLine($"Soak (b) claim statement (ItemLifecycle.ClaimAsync, LIMIT {ClaimCount}), run by the bench under EXPLAIN (ANALYZE, BUFFERS) in a rolled-back transaction ten times a second:");
    Console.WriteLine($"  near the start (1-11 % done): {Window(early)}");
    Console.WriteLine($"  near the end  (89-99 % done): {Window(late)}");
    string Statement(StatementWindow? w) => w is null ? "no calls seen" :
        $"{w.Calls:N0} calls, mean {w.MeanMs:N2} ms, stddev {w.StddevMs:N2} ms, max {w.MaxMs:N2} ms, {w.RowsPerCall:N1} rows/call";
    Console.WriteLine(statements
        ? $"  the workers' own claims (pg_stat_statements; mean and max, it keeps no percentiles): start {Statement(large.StartStatements)}; end {Statement(large.EndStatements)}"
        : "  the workers' own claims: pg_stat_statements not available");

    var cores = Environment.ProcessorCount;
    Console.WriteLine($"Soak (c) {options.SoakItems:N0} records: {large.RunRate:N0} records/s from first claim to last result ({large.RunRate / cores:N0} per core, {cores} cores), " +
        $"{large.EndToEndRate:N0} records/s from the start of the upload to the job's completion (upload {large.UploadSeconds:N1} s, run {large.RunSeconds:N1} s); " +
        $"{BenchOptions.SoakBaseline / 1000}k job: {small.RunRate:N0} records/s; failed {large.Failed} + {small.Failed}");

    Console.WriteLine($"Soak (d) size per million records (growth over the {label} job, scaled; dead tuples not yet vacuumed included):");
    var perMillion = 1_000_000.0 / options.SoakItems;
    long totalGrowth = 0;
    foreach (var table in TableSize.Tables)
    {
        var before = large.SizesBefore.GetValueOrDefault(table);
        var after = large.SizesAfter.GetValueOrDefault(table);
        if (after is null)
        {
            continue;
        }
        var total = after.Total - (before?.Total ?? 0);
        var indexes = after.Indexes - (before?.Indexes ?? 0);
        totalGrowth += total;
        Console.WriteLine($"  {table}: {Units.Mb((long)(total * perMillion))} total, of which indexes {Units.Mb((long)(indexes * perMillion))}; " +
            $"now {after.LiveTuples:N0} live / {after.DeadTuples:N0} dead tuples");
    }
    Console.WriteLine($"  all: {Units.Mb((long)(totalGrowth * perMillion))} per million records");
    if (large.ItemsHeap is { } heap)
    {
        // Whole table (every job of this run), so as shares: how much of the heap is live rows, dead versions, free space.
        Console.WriteLine($"  items heap (pgstattuple, all jobs of this run): {Units.Mb(heap.TableBytes)} = live rows {(double)heap.LiveBytes / heap.TableBytes:P0}, " +
            $"dead row versions {(double)heap.DeadBytes / heap.TableBytes:P0}, free space {(double)heap.FreeBytes / heap.TableBytes:P0}");
    }

    async Task<SoakResult> SoakAsync(string route, int items, bool measure)
    {
        var file = Path.Combine(Path.GetTempPath(), $"aspirebatch-soak-{Guid.NewGuid():N}.jsonl");
        await using (var writer = new StreamWriter(file))
        {
            for (var i = 0; i < items; i++)
            {
                await writer.WriteLineAsync($$"""{"id":"s{{i}}","text":"review {{i}}: the delivery was late but the product works","stars":{{i % 5 + 1}}}""");
            }
        }
        var memory = new MemorySampler(ServiceProcess.Find(database));
        if (!memory.Processes.Any(p => p.Name == "api") || memory.Processes.Count(p => p.Name.StartsWith("worker", StringComparison.Ordinal)) == 0)
        {
            Console.WriteLine($"Soak: service processes not found (found {string.Join(", ", memory.Processes)}); RSS figures will be missing");
        }
        var sizesBefore = measure ? await TableSize.ReadAsync(database) : [];
        using var stop = new CancellationTokenSource();
        memory.Start();
        var progress = -1.0;
        var sampling = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                memory.Sample(Volatile.Read(ref progress));
                await Task.Delay(1000, CancellationToken.None);
            }
        });
        var upload = Stopwatch.StartNew();
        Guid? created = null;
        // As a careful client would: an Idempotency-Key, and a retry of a 5xx answer with the same key.
        var key = $"bench-soak-{Guid.NewGuid():N}";
        for (var attempt = 1; created is null; attempt++)
        {
            await using var stream = File.OpenRead(file);
            using var form = new MultipartFormDataContent
            {
                { new StreamContent(stream), "file", "soak.jsonl" },
                { new StringContent(route), "model" },
                { new StringContent("Classify: {{text}}"), "userTemplate" },
            };
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs") { Content = form };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await api.SendAsync(request);
            if ((int)response.StatusCode >= 500 && attempt < 3)
            {
                await Task.Delay(1000);
                Console.WriteLine($"Soak {items:N0}: the upload got {(int)response.StatusCode} from the Api (attempt {attempt}); the Api logged: " +
                    string.Join(" | ", apiErrors.TakeLast(3)) + "; retrying with the same Idempotency-Key");
                continue;
            }
            response.EnsureSuccessStatusCode();
            created = (await response.Content.ReadFromJsonAsync<JsonElement>(json)).GetProperty("job").GetProperty("id").GetGuid();
        }
        var id = created.Value;
        upload.Stop();
        File.Delete(file);
        memory.Mark();
        Console.WriteLine($"Soak {items:N0}: uploaded in {upload.Elapsed.TotalSeconds:N1} s; running");

        Volatile.Write(ref progress, 0.0);
        var probe = new ClaimProbe(database, id, ClaimCount);
        var probing = measure ? probe.RunAsync(() => Volatile.Read(ref progress), stop.Token) : Task.CompletedTask;
        StatementWindow? startStatements = null, endStatements = null;
        var phase = 0;
        var lastLine = Stopwatch.StartNew();
        var lastDone = 0;
        var run = Stopwatch.StartNew();
        JobDto job;
        while (true)
        {
            job = (await api.GetFromJsonAsync<JobDto>($"/api/jobs/{id}", json))!;
            var done = job.Counters.Done;
            Volatile.Write(ref progress, (double)done / items);
            if (measure)
            {
                // The workers' own claims through pg_stat_statements, over the same windows as the probe.
                if (phase == 0 && done >= items * 0.01) { await ClaimStatements.ResetAsync(database); phase = 1; }
                if (phase == 1 && done >= items * 0.11) { startStatements = await ClaimStatements.ReadAsync(database); phase = 2; }
                if (phase == 2 && done >= items * 0.89) { await ClaimStatements.ResetAsync(database); phase = 3; }
                if (phase == 3 && done >= items * 0.99) { endStatements = await ClaimStatements.ReadAsync(database); phase = 4; }
            }
            if (job.State is JobState.Completed or JobState.Failed or JobState.Cancelled or JobState.Paused)
            {
                break;
            }
            if (lastLine.Elapsed >= TimeSpan.FromSeconds(15))
            {
                Console.WriteLine($"  soak {items:N0}: {done:N0}/{items:N0} done ({(double)done / items:P1}), {(done - lastDone) / lastLine.Elapsed.TotalSeconds:N0} records/s over the last {lastLine.Elapsed.TotalSeconds:N0} s, " +
                    $"{done / run.Elapsed.TotalSeconds:N0} since the upload; RSS {string.Join(", ", memory.Processes.Select(p => $"{p.Name} {Units.Mb(memory.Current(p))}"))}");
                lastDone = done;
                lastLine.Restart();
            }
            await Task.Delay(1000);
        }
        await stop.CancelAsync();
        await sampling;
        await probing;
        memory.Stop();
        if (job.State != JobState.Completed)
        {
            Console.WriteLine($"Soak {items:N0}: the job ended {job.State} ({job.StateReason})");
        }
        var sizesAfter = measure ? await TableSize.ReadAsync(database) : [];
        var itemsHeap = measure ? await HeapContents.ReadAsync(database, "items") : null;
        double runSeconds;
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT extract(epoch FROM max(completed_at) - min(started_at)) FROM items WHERE job_id = @job", connection);
            command.Parameters.AddWithValue("job", id);
            runSeconds = Convert.ToDouble(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }
        return new SoakResult(memory, probe.Samples, startStatements, endStatements, sizesBefore, sizesAfter, itemsHeap,
            items / runSeconds, items / (upload.Elapsed.TotalSeconds + run.Elapsed.TotalSeconds), upload.Elapsed.TotalSeconds, runSeconds, job.Counters.Failed);
    }
}

// Dedup: 40 % of the records repeat the text of an earlier one at temperature 0; each distinct request is sent once.
if (options.Runs("dedup"))
{
    await Configure(primary, new { latencyMs = 1, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0 });
    await CreateProviderAsync("bench-dedup", primary, requestsPerMinute: null);
    var dedupRoute = await CreateRouteAsync("bench-dedup", "bench-dedup");
    var items = options.DedupItems;
    var distinct = items - items * 2 / 5;
    var file = Path.Combine(Path.GetTempPath(), $"aspirebatch-dedup-{Guid.NewGuid():N}.jsonl");
    await using (var writer = new StreamWriter(file))
    {
        for (var i = 0; i < items; i++)
        {
            // Records past the distinct ones repeat an earlier record, spread over the file's first part.
            var text = i < distinct ? i : (long)(i - distinct) * 7919 % distinct;
            await writer.WriteLineAsync($$"""{"id":"d{{i}}","text":"review {{text}}: the delivery was late but the product works"}""");
        }
    }
    (await primary.PostAsync("/admin/reset", null)).EnsureSuccessStatusCode();
    var callsBefore = await ChatRequestsAsync(primary);
    var upload = Stopwatch.StartNew();
    JsonElement created;
    await using (var stream = File.OpenRead(file))
    {
        using var form = new MultipartFormDataContent
        {
            { new StreamContent(stream), "file", "dedup.jsonl" },
            { new StringContent(dedupRoute), "model" },
            { new StringContent("Classify: {{text}}"), "userTemplate" },
            { new StringContent("0"), "temperature" },
        };
        var response = await api.PostAsync("/api/jobs", form);
        response.EnsureSuccessStatusCode();
        created = await response.Content.ReadFromJsonAsync<JsonElement>(json);
    }
    upload.Stop();
    File.Delete(file);
    var id = created.GetProperty("job").GetProperty("id").GetGuid();
    var saved = created.GetProperty("estimate").GetProperty("deduplicatedCalls").GetInt32();
    var job = await WaitCompletedAsync(id);
    var calls = await ChatRequestsAsync(primary) - callsBefore;
    long attempts;
    await using (var connection = new NpgsqlConnection(database))
    {
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM attempts WHERE job_id = @job", connection);
        command.Parameters.AddWithValue("job", id);
        attempts = Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }
    var runSeconds = (job.CompletedAt!.Value - (job.StartedAt ?? job.CreatedAt)).TotalSeconds;
    Console.WriteLine($"Dedup: {items:N0} records ({items - distinct:N0} duplicates, estimate said {saved:N0} calls saved), uploaded in {upload.Elapsed.TotalSeconds:N1} s; " +
        $"job {job.State}, {job.Counters.Succeeded:N0} succeeded, {job.Counters.Failed:N0} failed; the simulator served {calls:N0} chat calls " +
        $"(ledger: {attempts:N0} attempts) -> calls / records {(double)calls / items:N3} (goal <= 0.600); run {runSeconds:N1} s = {items / runSeconds:N0} records/s");
}

// Import against psql's \copy of the same file into a table of the items' shape and indexes, side by side, twice each.
if (options.Runs("importratio"))
{
    var file = Path.Combine(Path.GetTempPath(), $"aspirebatch-ratio-{Guid.NewGuid():N}.jsonl");
    await using (var writer = new StreamWriter(file))
    {
        for (var i = 0; i < options.ImportLines; i++)
        {
            await writer.WriteLineAsync($$"""{"id":"r{{i}}","text":"review {{i}}: the delivery was late but the product works","stars":{{i % 5 + 1}}}""");
        }
    }
    var megabytes = new FileInfo(file).Length / 1048576.0;
    await PsqlCopy.CreateTableAsync(database);
    var rounds = new List<(double Import, double Copy, string ImportCpu, string CopyCpu)>();
    var cpu = new CpuAccount();
    for (var round = 1; round <= 2; round++)
    {
        cpu.Start();
        var importWatch = Stopwatch.StartNew();
        await using (var stream = File.OpenRead(file))
        {
            using var form = new MultipartFormDataContent
            {
                { new StreamContent(stream), "file", "ratio.jsonl" },
                { new StringContent("deepseek-chat"), "model" },
                { new StringContent("Classify: {{text}}"), "userTemplate" },
                { new StringContent("true"), "startPaused" },
            };
            (await api.PostAsync("/api/jobs", form)).EnsureSuccessStatusCode();
        }
        importWatch.Stop();
        var (importParts, _, importWall) = cpu.Stop();
        cpu.Start();
        var copy = await PsqlCopy.RunAsync(database, file);
        var (copyParts, _, copyWall) = cpu.Stop();
        await PsqlCopy.TruncateAsync(database);
        rounds.Add((importWatch.Elapsed.TotalSeconds, copy.TotalSeconds, CpuAccount.Describe(CpuAccount.Grouped(importParts), importWall), CpuAccount.Describe(CpuAccount.Grouped(copyParts), copyWall)));
        Console.WriteLine($"Import ratio, round {round}: Api import {importWatch.Elapsed.TotalSeconds:N2} s ({options.ImportLines / importWatch.Elapsed.TotalSeconds:N0} records/s; cores busy: {rounds[^1].ImportCpu}), " +
            $"psql \\copy + insert {copy.TotalSeconds:N2} s ({options.ImportLines / copy.TotalSeconds:N0} records/s; cores busy: {rounds[^1].CopyCpu})");
    }
    await PsqlCopy.TruncateAsync(database, drop: true);
    File.Delete(file);
    var bestImport = rounds.Min(r => r.Import);
    var bestCopy = rounds.Min(r => r.Copy);
    Console.WriteLine($"Import ratio: {options.ImportLines:N0} lines ({megabytes:N1} MB), best of 2: Api {options.ImportLines / bestImport:N0} records/s, psql \\copy {options.ImportLines / bestCopy:N0} records/s " +
        $"-> {bestCopy / bestImport:N3} of COPY (goal >= 0.5); per round {string.Join(", ", rounds.Select(r => (r.Copy / r.Import).ToString("N3", CultureInfo.InvariantCulture)))}");
}

// Added latency per call: the Worker's call span minus the simulator's own handling of that call.
if (options.Runs("latency") && otlp is not null)
{
    await SetWorkersAsync(2);
    await Configure(primary, new { latencyMs = 200, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0 });
    await CreateProviderAsync("bench-latency", primary, requestsPerMinute: null);
    var route = await CreateRouteAsync("bench-latency", "bench-latency");
    await Task.Delay(2000);
    otlp.Spans.Clear();
    var id = await CreateJobAsync(route, options.LatencyItems);
    var job = await WaitCompletedAsync(id);
    // The last batches leave the exporters within their 1 s schedule.
    await Task.Delay(4000);
    var spans = otlp.Spans.ToArray();
    var byId = spans.GroupBy(s => s.SpanId).ToDictionary(g => g.Key, g => g.First());
    var serverByClient = spans.Where(s => s.Kind == 2 && s.ParentSpanId.Length > 0).GroupBy(s => s.ParentSpanId).ToDictionary(g => g.Key, g => g.First());
    var calls = spans.Where(s => s.Kind == 3 && s.Name.StartsWith("chat ", StringComparison.Ordinal)).ToList();
    var added = new List<double>();
    var inWorker = new List<double>();
    var inHttp = new List<double>();
    var handling = new List<double>();
    var retried = 0;
    foreach (var call in calls)
    {
        var http = spans.Where(s => s.ParentSpanId == call.SpanId && s.Kind == 3).ToList();
        if (http.Count != 1)
        {
            retried += http.Count > 1 ? 1 : 0;
            continue;
        }
        if (!serverByClient.TryGetValue(http[0].SpanId, out var server))
        {
            continue;
        }
        added.Add(call.DurationMs - server.DurationMs);
        inWorker.Add(call.DurationMs - http[0].DurationMs);
        inHttp.Add(http[0].DurationMs - server.DurationMs);
        handling.Add(server.DurationMs);
    }
    string P(List<double> v, double p) => ClaimProbe.Percentile(v, p).ToString("N2", CultureInfo.InvariantCulture);
    Console.WriteLine($"Latency: {job.Counters.Succeeded:N0} records at 200 ms simulated latency, 2 workers of {Concurrency / 2}; {added.Count:N0} sampled calls matched " +
        $"(of {calls.Count:N0} call spans, {spans.Length:N0} spans received; {retried} retried left out); the simulator's handling p50 {P(handling, 0.5)} ms");
    Console.WriteLine($"Latency added per call (call span - simulator's server span): p50 {P(added, 0.5)} ms (goal <= 1), p99 {P(added, 0.99)} ms (goal <= 5), max {P(added, 1)} ms; " +
        $"of which in the worker around the HTTP call p50 {P(inWorker, 0.5)} / p99 {P(inWorker, 0.99)} ms, HttpClient + loopback + Kestrel outside the handler p50 {P(inHttp, 0.5)} / p99 {P(inHttp, 0.99)} ms");
}

// Scale-out: records/s against worker processes while latency-bound, the claim's p99 at 8, durable records/s per core at 0 ms.
if (options.Runs("scale"))
{
    await CreateProviderAsync("bench-scale", primary, requestsPerMinute: null);
    var route = await CreateRouteAsync("bench-scale", "bench-scale");
    await Configure(primary, new { latencyMs = 500, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0 });
    var perWorker = Concurrency / 2;
    var cpu = new CpuAccount();
    var rates = new Dictionary<int, double>();
    List<ClaimSample> claims = [];
    // Warm-up: every worker runs its paths once (JIT, pools), so no count measures a process starting.
    await SetWorkersAsync(8);
    // What 8 workers cost with nothing to do: polls, timers, lease and leader renewals.
    cpu.Start();
    await Task.Delay(TimeSpan.FromSeconds(10));
    var (idleParts, idleShare, idleWall) = cpu.Stop();
    Console.WriteLine($"Scale: 8 idle workers (no job) for {idleWall:N0} s: machine idle {idleShare:P0}; cores busy: {CpuAccount.Describe(CpuAccount.Grouped(idleParts), idleWall)}");
    await Configure(primary, new { latencyMs = 0, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0 });
    await WaitCompletedAsync(await CreateJobAsync(route, 8_000));
    await Configure(primary, new { latencyMs = 500, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0 });
    foreach (var workers in new[] { 1, 2, 4, 8 })
    {
        await SetWorkersAsync(workers);
        // About 20 s of calls at the latency-bound rate (25 in flight per worker, 500 ms each = 50 records/s per worker).
        var items = workers * perWorker * 2 * options.ScaleSeconds;
        cpu.Start();
        var id = await CreateJobAsync(route, items);
        using var stopProbe = new CancellationTokenSource();
        var probe = new ClaimProbe(database, id, ClaimCount);
        var probing = workers == 8 ? probe.RunAsync(() => 0.5, stopProbe.Token) : Task.CompletedTask;
        var job = await WaitCompletedAsync(id);
        await stopProbe.CancelAsync();
        await probing;
        var (parts, idle, wall) = cpu.Stop();
        var rate = await SteadyRateAsync(id);
        rates[workers] = rate;
        if (workers == 8)
        {
            claims = probe.Samples;
        }
        var ideal = workers * perWorker / 0.5;
        Console.WriteLine($"Scale {workers} worker(s): {rate:N1} records/s (latency-bound ceiling {ideal:N0}: {rate / ideal:P1}) -> {rate / rates[1]:N2}x 1 worker; " +
            $"{job.Counters.Succeeded:N0} succeeded, {job.Counters.Failed} failed; machine idle {idle:P0}; cores busy: {CpuAccount.Describe(CpuAccount.Grouped(parts), wall)}");
    }
    Console.WriteLine($"Scale: 2 workers {rates[2] / rates[1]:N2}x (goal >= 1.8), 4 workers {rates[4] / rates[1]:N2}x (goal >= 3.4), 8 workers {rates[8] / rates[1]:N2}x, at 500 ms simulated latency");
    var claimMs = claims.Select(c => c.ExecutionMs).ToList();
    Console.WriteLine($"Scale: the claim statement (ItemLifecycle.ClaimAsync, LIMIT {ClaimCount}) while 8 workers claim, run by the bench under EXPLAIN ANALYZE ten times a second: " +
        $"p50 {ClaimProbe.Percentile(claimMs, 0.5):N2} ms, p99 {ClaimProbe.Percentile(claimMs, 0.99):N2} ms, max {ClaimProbe.Percentile(claimMs, 1):N2} ms ({claimMs.Count} runs)");

    // Durable throughput at about 0 ms: the stack's own cost per record, every record claimed, journalled and written.
    await Configure(primary, new { latencyMs = 0, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0 });
    foreach (var workers in new[] { 2, 8 })
    {
        await SetWorkersAsync(workers);
        cpu.Start();
        var id = await CreateJobAsync(route, options.DurableItems);
        var job = await WaitCompletedAsync(id);
        var (parts, idle, wall) = cpu.Stop();
        var rate = await SteadyRateAsync(id);
        var used = parts.Values.Sum();
        var cores = Environment.ProcessorCount;
        Console.WriteLine($"Durable at 0 ms, {workers} workers: {rate:N0} records/s = {rate / cores:N0} per core ({cores} cores; machine idle {idle:P0}; {rate * wall / Math.Max(used, 0.01):N0} per CPU-second the stack used); " +
            $"{job.Counters.Succeeded:N0} succeeded, {job.Counters.Failed} failed; CPU ms per 1,000 records: " +
            string.Join(", ", CpuAccount.Grouped(parts).Where(p => p.Value >= 0.05).OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value * 1e6 / job.Counters.Succeeded:N0}")));
        // Retention on the finished job: what a purge frees and how long it takes (through the Api, as an operator would).
        var purgeWatch = Stopwatch.StartNew();
        using var purge = await api.PostAsync($"/api/jobs/{id}/purge", null);
        purgeWatch.Stop();
        purge.EnsureSuccessStatusCode();
        var purged = (await purge.Content.ReadFromJsonAsync<JobPurged>(json))!;
        Console.WriteLine($"Purge of that job: {purged.RecordsDeleted:N0} records, {purged.BytesFreed / 1048576.0:N1} MB of row data ({purged.BytesFreed / Math.Max(1, purged.RecordsDeleted):N0} bytes a record), " +
            $"{purged.AttemptsKept:N0} attempts kept, in {purgeWatch.Elapsed.TotalSeconds:N2} s ({purged.RecordsDeleted / purgeWatch.Elapsed.TotalSeconds:N0} records/s)");
    }
    await SetWorkersAsync(2);
}

if (workerReplicas > 2)
{
    // Frozen workers must be able to hear the stop.
    await SetWorkersAsync(workerReplicas);
}

// native: the same job in real time and through the simulator's native batches (OpenAI's 50 % discount), cost side by side.
if (options.Runs("native"))
{
    await Configure(primary, new { latencyMs = 5, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0, batchTurnaroundMs = 3000 });
    var nativeProvider = await CreateProviderAsync("bench-native", primary, requestsPerMinute: null);
    var nativeRoute = await CreateRouteAsync("bench-native", "bench-native");
    var figures = new List<string>();
    foreach (var mode in new[] { "realtime", "provider-batch" })
    {
        var before = await SimulatorCountsAsync(primary);
        var content = new StringBuilder();
        for (var i = 0; i < options.NativeItems; i++)
        {
            content.Append(CultureInfo.InvariantCulture, $$"""{"id":"n{{i}}","text":"review {{i}}: the delivery was late but the product works"}""").Append('\n');
        }
        using var form = new MultipartFormDataContent
        {
            { new StringContent(content.ToString()), "file", "native.jsonl" },
            { new StringContent(nativeRoute), "model" },
            { new StringContent("Classify: {{text}}"), "userTemplate" },
            { new StringContent("16"), "maxTokens" },
            { new StringContent(mode), "mode" },
        };
        var response = await api.PostAsync("/api/jobs", form);
        response.EnsureSuccessStatusCode();
        var created = await response.Content.ReadFromJsonAsync<JsonElement>(json);
        var estimate = created.GetProperty("estimate");
        var job = await WaitCompletedAsync(created.GetProperty("job").GetProperty("id").GetGuid());
        var after = await SimulatorCountsAsync(primary);
        var seconds = (job.CompletedAt!.Value - job.CreatedAt).TotalSeconds;
        figures.Add($"{mode}: {job.State}, {job.Counters.Succeeded:N0}/{options.NativeItems:N0} succeeded in {seconds:N1} s, cost {job.Counters.CostUsd:N6} USD " +
            $"(estimate bound {estimate.GetProperty("costBoundUsd").GetDecimal():N4} real time / " +
            $"{(estimate.TryGetProperty("batchCostBoundUsd", out var b) && b.ValueKind == JsonValueKind.Number ? b.GetDecimal().ToString("N4", CultureInfo.InvariantCulture) : "-")} batch); " +
            $"simulator: {after.Chat - before.Chat:N0} real-time calls, {after.Lines - before.Lines:N0} batch lines");
    }
    _ = nativeProvider;
    Console.WriteLine("Native batch, the same job in both modes: " + string.Join(" | ", figures));
}

if (options.Runs("access"))
{
    // What a request costs by who sends it: the AppHost's key (one constant-time compare), a team's key (one lookup by
    // hash) and an account's token (the token unprotected, then the account, its stamp and its role read). Interleaved,
    // so the machine's noise falls on all three alike; then what a password sign-in costs (PBKDF2).
    var created = await api.PostAsJsonAsync("/api/keys", new CreateApiKeyRequest("bench", "bench", [ApiScopes.Jobs]));
    var teamKey = (await created.Content.ReadFromJsonAsync<CreatedApiKey>())!.Secret;
    var signIn = await api.PostAsJsonAsync("/api/account/token", new SignInRequest("operator", "operator"));
    var accountToken = JsonDocument.Parse(await signIn.Content.ReadAsStringAsync()).RootElement.GetProperty("accessToken").GetString()!;
    var callers = new (string Name, string Bearer)[] { ("AppHost key", ApiKey), ("team key", teamKey), ("account token", accountToken) };
    var timings = callers.ToDictionary(c => c.Name, _ => new List<double>());
    using var plain = new HttpClient { BaseAddress = api.BaseAddress };
    for (var round = 0; round < options.AccessRequests + 50; round++)
    {
        foreach (var (name, bearer) in callers)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/jobs?pageSize=1");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            var started = Stopwatch.GetTimestamp();
            using var response = await plain.SendAsync(request);
            response.EnsureSuccessStatusCode();
            // The first 50 rounds warm the JIT, pools and caches.
            if (round >= 50)
            {
                timings[name].Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }
        }
    }
    var baseline = ClaimProbe.Percentile(timings["AppHost key"], 0.5);
    Console.WriteLine($"Access, GET /api/jobs x {options.AccessRequests:N0} each, interleaved: " + string.Join(" | ", callers.Select(c =>
        $"{c.Name} p50 {ClaimProbe.Percentile(timings[c.Name], 0.5):N2} ms, p99 {ClaimProbe.Percentile(timings[c.Name], 0.99):N2} ms, " +
        $"median {ClaimProbe.Percentile(timings[c.Name], 0.5) / baseline:N2}x the AppHost key's")));
    var signIns = new List<double>();
    for (var i = 0; i < 20; i++)
    {
        var started = Stopwatch.GetTimestamp();
        (await plain.PostAsJsonAsync("/api/account/token", new SignInRequest("operator", "operator"))).EnsureSuccessStatusCode();
        signIns.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
    }
    Console.WriteLine($"Access, password sign-in x 20: p50 {ClaimProbe.Percentile(signIns, 0.5):N1} ms, max {ClaimProbe.Percentile(signIns, 1):N1} ms");
}

await app.StopAsync();
return;

static async Task<(long Chat, long Lines)> SimulatorCountsAsync(HttpClient simulator)
{
    using var stats = JsonDocument.Parse(await simulator.GetStringAsync("/admin/stats"));
    return (stats.RootElement.GetProperty("chatRequests").GetInt64(), stats.RootElement.GetProperty("batches").GetProperty("linesAnswered").GetInt64());
}

// Records/s of a job from its first claim to its last result (as the soak counts it).
async Task<double> SteadyRateAsync(Guid id)
{
    await using var connection = new NpgsqlConnection(database);
    await connection.OpenAsync();
    await using var command = new NpgsqlCommand("SELECT count(*), extract(epoch FROM max(completed_at) - min(started_at)) FROM items WHERE job_id = @job", connection)
    {
        CommandTimeout = 300,
    };
    command.Parameters.AddWithValue("job", id);
    await using var reader = await command.ExecuteReaderAsync();
    await reader.ReadAsync();
    return reader.GetInt64(0) / Convert.ToDouble(reader.GetValue(1), CultureInfo.InvariantCulture);
}

// Runs exactly n of the worker processes, the others frozen (WorkerFreezer); only between jobs.
async Task SetWorkersAsync(int n) => await WorkerFreezer.SetAsync(database, n);

static int FreePort()
{
    using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
}

static async Task<long> ChatRequestsAsync(HttpClient simulator)
{
    using var stats = JsonDocument.Parse(await simulator.GetStringAsync("/admin/stats"));
    return stats.RootElement.GetProperty("chatRequests").GetInt64();
}

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

async Task<Guid> CreateProviderAsync(string name, HttpClient simulator, int? requestsPerMinute)
{
    // The simulators serve native batches too; at OpenAI's discount (only the native phase uses them).
    var response = await api.PostAsJsonAsync("/api/providers", new ProviderRequest(name, simulator.BaseAddress!.ToString().TrimEnd('/') + "/v1", SimKey,
        RequestsPerMinute: requestsPerMinute, SupportsNativeBatch: true, BatchDiscountPercent: 50));
    response.EnsureSuccessStatusCode();
    var id = (await response.Content.ReadFromJsonAsync<ProviderDto>(json))!.Id;
    (await api.PutAsJsonAsync($"/api/providers/{id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.42m, 0.42m))).EnsureSuccessStatusCode();
    return id;
}

static async Task Configure(HttpClient simulator, object settings) =>
    (await simulator.PutAsJsonAsync("/admin/config", settings)).EnsureSuccessStatusCode();

internal sealed record BenchOptions(int ImportLines, int Items, int Rpm, int P3Seconds, int SoakItems, IReadOnlySet<string> Phases, int DedupItems = 100_000,
    int NativeItems = 10_000, int LatencyItems = 6_000, int ScaleSeconds = 20, int DurableItems = 60_000,
    int AccessRequests = 1_000)
{
    private static readonly string[] AllPhases = ["import", "p2", "p1", "p3", "redis", "soak", "dedup", "native", "importratio", "latency", "scale", "access"];
    // redis, soak, dedup, native, importratio, latency, scale and access are opt-in: the soak alone takes longer than the routine phases together.
    private static readonly string[] DefaultPhases = ["import", "p2", "p1", "p3"];

    public bool Runs(string phase) => Phases.Contains(phase);

    public static BenchOptions Parse(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var requested = Value("--phases") ?? string.Join(",", DefaultPhases);
        var phases = (requested.Trim().Equals("all", StringComparison.OrdinalIgnoreCase) ? string.Join(",", AllPhases) : requested)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(p => p.ToLowerInvariant()).ToHashSet();
        if (phases.Count == 0 || phases.Except(AllPhases).Any())
        {
            throw new ArgumentException($"--phases takes all or a comma-separated list of {string.Join(", ", AllPhases)}, not \"{Value("--phases")}\"");
        }
        var options = new BenchOptions(
            int.Parse(Value("--import-lines") ?? "1000000", CultureInfo.InvariantCulture),
            int.Parse(Value("--items") ?? "5000", CultureInfo.InvariantCulture),
            int.Parse(Value("--rpm") ?? "3000", CultureInfo.InvariantCulture),
            int.Parse(Value("--p3-seconds") ?? "150", CultureInfo.InvariantCulture),
            int.Parse(Value("--soak-items") ?? "1000000", CultureInfo.InvariantCulture),
            phases,
            int.Parse(Value("--dedup-items") ?? "100000", CultureInfo.InvariantCulture),
            int.Parse(Value("--native-items") ?? "10000", CultureInfo.InvariantCulture),
            int.Parse(Value("--latency-items") ?? "6000", CultureInfo.InvariantCulture),
            int.Parse(Value("--scale-seconds") ?? "20", CultureInfo.InvariantCulture),
            int.Parse(Value("--durable-items") ?? "60000", CultureInfo.InvariantCulture),
            int.Parse(Value("--access-requests") ?? "1000", CultureInfo.InvariantCulture));
        if (options.P3Seconds < 90)
        {
            throw new ArgumentException("--p3-seconds must be 90 or more: P3 measures after the first minute");
        }
        if (options.SoakItems < SoakBaseline)
        {
            throw new ArgumentException($"--soak-items must be {SoakBaseline:N0} or more: the soak compares it with a {SoakBaseline:N0}-record job");
        }
        return options;
    }

    /// <summary>The small job the soak's memory is compared with.</summary>
    public const int SoakBaseline = 10_000;
}
