using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.ApplicationModel;
using AspireBatch.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AspireBatch.Tests;

/// <summary>
/// A service of the stack fails mid-job: the simulator stopped during calls, a worker SIGKILLed while it writes
/// results, Postgres down for longer than a lease. Each run ends with every record done once (one result, at most one
/// charged answer), none failed that the provider did not fail, every call the provider saw in the ledger, and the time
/// the stack took to recover (in the assertion messages and in <see cref="FiguresFile"/>).
/// </summary>
public sealed class ServiceFaultTests(StackFixture stack) : IAsyncLifetime
{
    /// <summary>Where each run appends its measured figures (xUnit hides the output of passing tests).</summary>
    public static readonly string FiguresFile = Path.Combine(Path.GetTempPath(), "aspirebatch-fault-figures.txt");

    private static readonly TimeSpan RecoverWithin = TimeSpan.FromSeconds(60);
    private const int LeaseSeconds = 8; // StackFixture's Worker:LeaseSeconds

    private ResourceCommandService Commands => stack.App.Services.GetRequiredService<ResourceCommandService>();

    public async ValueTask InitializeAsync()
    {
        await stack.ResetSimulatorsAsync();
        await StartStoppedWorkersAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await stack.ResetSimulatorsAsync();
        await StartStoppedWorkersAsync();
    }

    [Fact]
    public async Task The_simulator_stopped_during_calls_loses_fails_and_double_charges_nothing()
    {
        await stack.ResetSimulatorsAsync(primaryLatencyMs: 50);
        // A route of one target: with nothing to fall back to, records must wait for the provider, not fail.
        var route = await SingleTargetRouteAsync("sim-stop");
        const int total = 2000;
        var created = await stack.Api.CreateAsync("sim-stop.jsonl", JobApiClient.Jsonl(total, i => new { id = $"s{i}", text = $"sim stop {i}" }), JobApiClient.Fields(route));
        await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Succeeded >= 300, TimeSpan.FromMinutes(1));

        var servedBeforeStop = await ChatRequestsAsync(stack.SimPrimary);
        var afterRead = DateTimeOffset.UtcNow; // every call counted by then had started by then
        DateTimeOffset down;
        TimeSpan recovered;
        var outage = Stopwatch.StartNew();
        var stopped = await Commands.ExecuteCommandAsync("sim-primary", "resource-stop");
        try
        {
            Assert.True(stopped.Success, stopped.Message);
            await Task.Delay(TimeSpan.FromSeconds(3));
            down = DateTimeOffset.UtcNow; // the simulator is gone: nothing that starts before this is answered by its next life
            var atStop = await stack.Api.GetJobAsync(created.Job.Id);
            Assert.True(atStop.Counters.Succeeded < total, "the job finished before the simulator stopped: nothing was tested");
        }
        finally
        {
            var started = await Commands.ExecuteCommandAsync("sim-primary", "resource-start");
            Assert.True(started.Success, started.Message);
            await stack.App.ResourceNotifications.WaitForResourceHealthyAsync("sim-primary").WaitAsync(TimeSpan.FromMinutes(1));
        }
        outage.Stop();
        var back = Stopwatch.StartNew();
        var healthyAt = DateTimeOffset.UtcNow;
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(3));
        var finished = back.Elapsed;
        // Recovered: the first call sent after the simulator was healthy again that it answered.
        var resumedAt = await ScalarOrNullAsync<DateTime>("SELECT min(started_at) FROM attempts WHERE job_id = @job AND status_code = 200 AND started_at > @healthy", job.Id, ("healthy", healthyAt));
        recovered = resumedAt is { } resumed ? new DateTimeOffset(resumed, TimeSpan.Zero) - healthyAt : TimeSpan.MaxValue;

        var refused = await CountAsync("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'connection_error'", job.Id);
        var waited = await CountAsync("SELECT count(DISTINCT item_id) FROM attempts WHERE job_id = @job AND error_code = 'connection_error'", job.Id);
        var failedCodes = await FailedCodesAsync(job.Id);
        await using (var connection = await stack.OpenDatabaseAsync())
        await using (var seen = new NpgsqlCommand("SELECT coalesce(string_agg(DISTINCT left(error_message, 160), ' | '), '') FROM attempts WHERE job_id = @job AND error_code = 'connection_error'", connection))
        {
            seen.Parameters.AddWithValue("job", job.Id);
            await FiguresAsync($"  the dead connection looked like: {await seen.ExecuteScalarAsync()}");
        }
        await FiguresAsync($"simulator stopped: down {outage.Elapsed.TotalSeconds:0.0} s (stop to healthy); {refused} calls met a dead connection on {waited} records; " +
            $"calls answered again {recovered.TotalSeconds:0.0} s after it was healthy (the rest of its circuit's break), job done {finished.TotalSeconds:0.0} s after; failed: {failedCodes}");
        Assert.True(refused > 0, "no call met the stopped simulator: nothing was tested");
        Assert.True(recovered < RecoverWithin, $"recovered within {RecoverWithin.TotalSeconds:0} s (took {recovered.TotalSeconds:0.0} s)");
        Assert.True(job.Counters.Failed == 0, $"{job.Counters.Failed} records failed ({failedCodes}); recovered within {recovered.TotalSeconds:0.0} s");
        await AssertEachRecordDoneOnceAsync(job, total);

        // The simulator's counters restarted with it: its second life saw exactly the answered calls that ended after
        // it was gone (a call sent just before may wait in the endpoint's proxy and be answered by the second life).
        var answeredAfter = await CountAsync("SELECT count(*) FROM attempts WHERE job_id = @job AND status_code IS NOT NULL AND started_at + latency_ms * interval '1 millisecond' > @down", job.Id, ("down", down));
        var servedAfter = await ChatRequestsAsync(stack.SimPrimary);
        Assert.Equal(answeredAfter, servedAfter);
        // And its first life saw no call the ledger does not hold.
        var sentBefore = await CountAsync("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code IS DISTINCT FROM 'circuit_open' AND error_code IS DISTINCT FROM 'internal' AND started_at < @read", job.Id, ("read", afterRead));
        Assert.True(servedBeforeStop <= sentBefore, $"the simulator saw {servedBeforeStop} calls before it stopped, the ledger holds {sentBefore} sent by then");
        Assert.Equal(0, job.Counters.InDoubtCalls);
    }

    [Fact]
    public async Task A_worker_killed_while_it_writes_results_leaves_one_result_per_record()
    {
        // Tiny latency and many records: each worker's result writer is busy most of the time.
        await stack.ResetSimulatorsAsync(primaryLatencyMs: 1);
        var route = await SingleTargetRouteAsync("write-kill");
        const int total = 20000;
        var created = await stack.Api.CreateAsync("write-kill.jsonl", JobApiClient.Jsonl(total, i => new { id = $"w{i}", text = $"write kill {i}" }), JobApiClient.Fields(route));
        await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Succeeded >= 2000, TimeSpan.FromMinutes(1));

        var workers = stack.ServiceProcesses("Worker");
        Assert.True(workers.Count >= 2, $"expected two worker processes, found {workers.Count}");
        var victim = workers[0];
        // One result writer per worker, writing one batch at a time: two result transactions open at once means both
        // workers are mid-write, the victim included. Catch that moment (the proxy in front of Postgres hides which
        // connection is whose), then SIGKILL.
        await using (var watch = await stack.OpenDatabaseAsync())
        {
            await using var writing = new NpgsqlCommand("""
                SELECT count(*) FROM pg_stat_activity
                WHERE datname = current_database() AND backend_xid IS NOT NULL AND state IN ('active', 'idle in transaction')
                  AND (query LIKE '%charged_reasoning%' OR query LIKE '%COPY attempts%')
                """, watch);
            var looking = Stopwatch.StartNew();
            var caught = false;
            while (looking.Elapsed < TimeSpan.FromSeconds(15))
            {
                if ((long)(await writing.ExecuteScalarAsync())! >= 2)
                {
                    caught = true;
                    break;
                }
            }
            victim.Kill(); // SIGKILL: no drain, an open result transaction dies with its connection
            await FiguresAsync($"worker killed {(caught ? "while both workers had a result write open" : "without catching a result write (none seen in 15 s)")} after {looking.Elapsed.TotalSeconds:0.0} s of watching");
        }
        await victim.WaitForExitAsync();
        var killed = Stopwatch.StartNew();
        var killedAt = DateTimeOffset.UtcNow;
        var atKill = await stack.Api.GetJobAsync(created.Job.Id);
        Assert.True(atKill.Counters.Succeeded < total, "the job finished before the worker was killed: nothing was tested");

        // The killed replica comes back through Aspire's resource command (it is not replaced on its own).
        Assert.True(await StartStoppedWorkersAsync() >= 1, "the killed replica was not started again");
        var restarted = killed.Elapsed;
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(3));
        var finished = killed.Elapsed;

        // The sweeper ran: the killed worker's unfinished items came back and ran again.
        var swept = await CountAsync("SELECT count(DISTINCT item_id) FROM attempts WHERE job_id = @job AND error_code = 'unknown'", job.Id);
        var sweptAfter = await ScalarOrNullAsync<DateTime>("SELECT min(started_at) FROM attempts WHERE job_id = @job AND error_code = 'unknown'", job.Id);
        var sweepSeconds = sweptAfter is { } at ? (new DateTimeOffset(at, TimeSpan.Zero) - killedAt).TotalSeconds : double.NaN;
        await FiguresAsync($"worker killed mid-write: {atKill.Counters.Succeeded}/{total} done at the kill; back (healthy) {restarted.TotalSeconds:0.0} s after; " +
            $"its leases swept {sweepSeconds:0.0} s after the kill ({swept} records, {job.Counters.InDoubtCalls} calls in doubt); job done {finished.TotalSeconds:0.0} s after");
        Assert.True(job.Counters.Failed == 0, $"{job.Counters.Failed} records failed ({await FailedCodesAsync(job.Id)})");
        Assert.True(swept > 0, "no lease of the killed worker was swept: its calls in flight were not recorded as in doubt");
        Assert.True(sweepSeconds < RecoverWithin.TotalSeconds, $"recovered within {RecoverWithin.TotalSeconds:0} s: the killed worker's leases were swept {sweepSeconds:0.0} s after the kill");
        await AssertEachRecordDoneOnceAsync(job, total);
        // Every swept record ran again after its sweep and succeeded.
        Assert.Equal(0, await CountAsync("""
            SELECT count(*) FROM (SELECT DISTINCT item_id FROM attempts WHERE job_id = @job AND error_code = 'unknown') u
            WHERE NOT EXISTS (SELECT 1 FROM attempts a WHERE a.item_id = u.item_id AND a.cost_usd IS NOT NULL AND a.status_code = 200
                              AND a.started_at >= (SELECT min(started_at) FROM attempts x WHERE x.item_id = u.item_id AND x.error_code = 'unknown'))
            """, job.Id));
        await AssertNoCallVanishedAsync(job);
    }

    [Fact]
    public async Task Postgres_down_longer_than_a_lease_runs_no_record_twice()
    {
        await stack.ResetSimulatorsAsync(primaryLatencyMs: 50);
        var route = await SingleTargetRouteAsync("pg-long");
        const int total = 8000;
        var created = await stack.Api.CreateAsync("pg-long.jsonl", JobApiClient.Jsonl(total, i => new { id = $"p{i}", text = $"pg long {i}" }), JobApiClient.Fields(route));
        await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Succeeded >= 500, TimeSpan.FromMinutes(1));

        var leasedAtStop = await CountAsync("SELECT count(*) FROM items WHERE job_id = @job AND state = 1", created.Job.Id);
        var outage = Stopwatch.StartNew();
        var stopped = await Commands.ExecuteCommandAsync("postgres", "resource-stop");
        try
        {
            Assert.True(stopped.Success, stopped.Message);
            // Longer than a lease: every lease held when it stopped has expired by the time it is back.
            await Task.Delay(TimeSpan.FromSeconds(LeaseSeconds + 3));
        }
        finally
        {
            var started = await Commands.ExecuteCommandAsync("postgres", "resource-start");
            Assert.True(started.Success, started.Message);
            await stack.App.ResourceNotifications.WaitForResourceHealthyAsync("postgres").WaitAsync(TimeSpan.FromMinutes(1));
            // This process's pooled connections died with the server; the services' pools mend themselves.
            NpgsqlConnection.ClearAllPools();
        }
        outage.Stop();
        var back = Stopwatch.StartNew();
        var expired = await CountAsync("SELECT count(*) FROM items WHERE job_id = @job AND state = 1 AND lease_expires_at < now()", created.Job.Id);
        var succeededWhenBack = await CountAsync("SELECT count(*) FROM items WHERE job_id = @job AND state = 2", created.Job.Id);
        Assert.True(succeededWhenBack < total, "the job finished before Postgres stopped: nothing was tested");
        // Watched in the database: the Api's own pool met the restart too (it is checked below).
        while (await CountAsync("SELECT count(*) FROM items WHERE job_id = @job AND state = 2", created.Job.Id) == succeededWhenBack)
        {
            Assert.True(back.Elapsed < RecoverWithin, $"no record finished within {RecoverWithin.TotalSeconds:0} s of Postgres being back");
            await Task.Delay(100);
        }
        var recovered = back.Elapsed;
        while (await CountAsync("SELECT count(*) FROM jobs WHERE id = @job AND state = 4", created.Job.Id) == 0)
        {
            Assert.True(back.Elapsed < TimeSpan.FromMinutes(3), "the job did not complete within 3 minutes of Postgres being back");
            await Task.Delay(250);
        }
        var finished = back.Elapsed;
        var served = await ChatRequestsAsync(stack.SimPrimary);

        // The stack takes new work: a small job through the Api (whose pool met the restart too) completes.
        var refusals = 0;
        CreatedJob? next = null;
        for (var i = 0; i < 40 && next is null; i++)
        {
            var response = await stack.Api.PostAsync("/api/jobs", JobApiClient.Form("after-pg.jsonl", JobApiClient.Jsonl(20, n => new { id = n, text = $"after {n}" }), JobApiClient.Fields(route)));
            if (response.IsSuccessStatusCode)
            {
                next = await response.Content.ReadFromJsonAsync<CreatedJob>(StackFixture.Json);
            }
            else
            {
                refusals++;
                await Task.Delay(250);
            }
        }
        await FiguresAsync($"  after the restart the Api refused {refusals} job creation(s) before taking one");
        Assert.NotNull(next);
        Assert.Equal(20, (await stack.Api.WaitForStateAsync(next.Job.Id, JobState.Completed, TimeSpan.FromMinutes(1))).Counters.Succeeded);
        var job = await stack.Api.GetJobAsync(created.Job.Id);

        var rerun = await CountAsync("SELECT count(DISTINCT item_id) FROM attempts WHERE job_id = @job AND error_code = 'unknown'", job.Id);
        var internalAttempts = await CountAsync("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'internal'", job.Id);
        await FiguresAsync($"postgres down {outage.Elapsed.TotalSeconds:0.0} s (lease {LeaseSeconds} s): {leasedAtStop} items leased at the stop, {expired} leases still expired when it was healthy; " +
            $"progress again {recovered.TotalSeconds:0.0} s after it was healthy, job done {finished.TotalSeconds:0.0} s after; " +
            $"{rerun} records ran again ({job.Counters.InDoubtCalls} calls in doubt), {internalAttempts} internal attempts");
        Assert.True(leasedAtStop > 0 && outage.Elapsed > TimeSpan.FromSeconds(LeaseSeconds), "no lease ran out during the outage: nothing was tested");
        Assert.True(recovered < RecoverWithin, $"recovered within {RecoverWithin.TotalSeconds:0} s (took {recovered.TotalSeconds:0.0} s)");
        Assert.True(job.Counters.Failed == 0, $"{job.Counters.Failed} records failed ({await FailedCodesAsync(job.Id)})");
        await AssertEachRecordDoneOnceAsync(job, total);
        await AssertNoCallVanishedAsync(job, served);
        // The leases ran out while no worker could renew them, not because a worker died: the live workers renewed
        // them (or wrote their results) before any sweep, so no record was sent twice.
        Assert.True(rerun == 0, $"{rerun} records whose lease ran out during the outage were run again ({job.Counters.InDoubtCalls} calls in doubt)");
    }

    /// <summary>Every record has exactly one result and at most one charged answer; the job's cost is its items'.</summary>
    private async Task AssertEachRecordDoneOnceAsync(JobDto job, int total)
    {
        Assert.Equal(total, job.Counters.Succeeded);
        Assert.Equal(total, await CountAsync("SELECT count(*) FROM items WHERE job_id = @job AND state = 2 AND response_text IS NOT NULL", job.Id));
        Assert.Equal(total, await CountAsync("SELECT count(DISTINCT custom_id) FROM items WHERE job_id = @job", job.Id));
        var chargedTwice = await CountAsync("SELECT count(*) FROM (SELECT item_id FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL GROUP BY item_id HAVING count(*) > 1) twice", job.Id);
        if (chargedTwice > 0)
        {
            await using var connection = await stack.OpenDatabaseAsync();
            await using var command = new NpgsqlCommand("""
                SELECT string_agg(format('item %s #%s %s %s %s %s', a.item_id, a.number, to_char(a.started_at, 'HH24:MI:SS.MS'), coalesce(a.status_code::text, '-'),
                                         coalesce(a.error_code, 'ok'), coalesce(a.cost_usd::text, '-')), '; ' ORDER BY a.item_id, a.started_at)
                FROM attempts a WHERE a.item_id IN (SELECT item_id FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL GROUP BY item_id HAVING count(*) > 1 LIMIT 3)
                """, connection);
            command.Parameters.AddWithValue("job", job.Id);
            Assert.Fail($"{chargedTwice} records have two charged answers: {await command.ExecuteScalarAsync()}");
        }
        Assert.Equal(total, await CountAsync("SELECT count(*) FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL AND status_code = 200", job.Id));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'internal_error_limit'", job.Id));
        Assert.Equal(job.Counters.CostUsd, await stack.ScalarAsync<decimal>("SELECT sum(cost_usd) FROM items WHERE job_id = @job", ("job", job.Id)));
        Assert.Equal(job.Counters.InDoubtCalls, await CountAsync("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'unknown'", job.Id));
    }

    /// <summary>The simulator (not restarted) saw every answered call, and no more calls than answered plus in doubt.</summary>
    private async Task AssertNoCallVanishedAsync(JobDto job, long? servedForJob = null)
    {
        var served = servedForJob ?? await ChatRequestsAsync(stack.SimPrimary);
        var inDoubt = await CountAsync("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'unknown'", job.Id);
        var answered = await CountAsync("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code IS DISTINCT FROM 'circuit_open' AND error_code IS DISTINCT FROM 'internal' AND error_code IS DISTINCT FROM 'unknown'", job.Id);
        await FiguresAsync($"  the simulator saw {served} calls; ledger: {answered} answered, {inDoubt} in doubt");
        Assert.True(answered <= served, $"{answered} answered attempts recorded but the provider saw only {served} calls");
        Assert.True(served <= answered + inDoubt, $"the provider saw {served} calls but the ledger holds {answered} answered and {inDoubt} in doubt");
    }

    /// <summary>A provider of its own on sim-primary (so no earlier test's circuit or window counts) and a route of that one target.</summary>
    private async Task<string> SingleTargetRouteAsync(string prefix)
    {
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var name = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        var response = await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest(name, sim + "/v1", StackFixture.SimulatorKey));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var provider = (await response.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 1m, 1m))).EnsureSuccessStatusCode();
        (await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(name, [new RouteTargetRequest(name, "deepseek-chat")]))).EnsureSuccessStatusCode();
        (await stack.SimPrimary.PostAsync("/admin/reset", null)).EnsureSuccessStatusCode();
        return name;
    }

    private static async Task<long> ChatRequestsAsync(HttpClient simulator)
    {
        using var stats = JsonDocument.Parse(await simulator.GetStringAsync("/admin/stats"));
        return stats.RootElement.GetProperty("chatRequests").GetInt64();
    }

    private async Task<long> CountAsync(string sql, Guid job, params (string Name, object Value)[] more) =>
        await stack.ScalarAsync<long>(sql, [("job", job), .. more]);

    private async Task<T?> ScalarOrNullAsync<T>(string sql, Guid job, params (string Name, object Value)[] more) where T : struct
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("job", job);
        foreach (var (name, value) in more)
        {
            command.Parameters.AddWithValue(name, value);
        }
        return await command.ExecuteScalarAsync() is T found ? found : null;
    }

    private async Task<string> FailedCodesAsync(Guid job)
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new NpgsqlCommand("SELECT coalesce(string_agg(error_code || ' x' || n, ', '), 'none') FROM (SELECT error_code, count(*) n FROM items WHERE job_id = @job AND state = 3 GROUP BY error_code) f", connection);
        command.Parameters.AddWithValue("job", job);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static async Task FiguresAsync(string line)
    {
        TestContext.Current.TestOutputHelper?.WriteLine(line);
        Console.WriteLine($"[fault] {line}");
        await File.AppendAllTextAsync(FiguresFile, $"{DateTimeOffset.UtcNow.ToString("u", CultureInfo.InvariantCulture)} {line}\n");
    }

    /// <summary>Starts every worker replica that is not running (Aspire does not replace one that died) and waits until all are healthy.</summary>
    private async Task<int> StartStoppedWorkersAsync()
    {
        var instances = await stack.WorkerInstancesAsync();
        Assert.True(instances.Length >= 2, $"expected two worker replicas, found {instances.Length}");
        var started = 0;
        // A replica that just died may still show Running for a moment: wait for its state to catch up.
        var settle = Stopwatch.StartNew();
        while (stack.ServiceProcesses("Worker").Count < instances.Length && started == 0 && settle.Elapsed < TimeSpan.FromSeconds(15))
        {
            foreach (var id in instances)
            {
                if (stack.App.ResourceNotifications.TryGetCurrentState(id, out var state)
                    && state.Snapshot.State?.Text is { } text && text != KnownResourceStates.Running && text != KnownResourceStates.Starting)
                {
                    var result = await Commands.ExecuteCommandAsync(id, "resource-start");
                    Assert.True(result.Success, $"starting {id} ({text}) failed: {result.Message}");
                    started++;
                }
            }
            if (started == 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }
        }
        var wait = Stopwatch.StartNew();
        while (stack.ServiceProcesses("Worker").Count < instances.Length
               || !instances.All(id => stack.App.ResourceNotifications.TryGetCurrentState(id, out var state)
                   && state.Snapshot.State?.Text == KnownResourceStates.Running
                   && state.Snapshot.HealthStatus is null or Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy))
        {
            Assert.True(wait.Elapsed < TimeSpan.FromMinutes(1), $"only {stack.ServiceProcesses("Worker").Count} of {instances.Length} worker replicas run healthy");
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
        return started;
    }
}
