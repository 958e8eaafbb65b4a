using System.Diagnostics;
using System.Net.Http.Json;
using Aspire.Hosting.ApplicationModel;
using AspireBatch.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace AspireBatch.Tests;

/// <summary>
/// SIGTERM (what the orchestrator, systemd or Kubernetes sends) makes a Worker stop claiming, finish or give back its
/// leases and exit within 10 s; the job it worked on still ends with one paid answer per record.
/// </summary>
public sealed class WorkerShutdownTests(StackFixture stack) : IAsyncLifetime
{
    private static readonly TimeSpan ExitWithin = TimeSpan.FromSeconds(10);
    // This machine is small and shared: 2 s of slack over the promise.
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(2);

    public async ValueTask InitializeAsync()
    {
        await stack.ResetSimulatorsAsync();
        // Another test may have killed a replica: start from every replica running.
        await StartStoppedWorkersAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await stack.ResetSimulatorsAsync();
        await StartStoppedWorkersAsync();
    }

    [Fact]
    public async Task A_worker_sent_SIGTERM_mid_job_exits_within_10_s_and_every_item_succeeds_once()
    {
        (await stack.SimPrimary.PutAsJsonAsync("/admin/config", new { latencyMs = 50 })).EnsureSuccessStatusCode();
        (await stack.SimPrimary.PostAsync("/admin/reset", null)).EnsureSuccessStatusCode();
        const int total = 6000;
        var created = await stack.Api.CreateAsync("term.jsonl", JobApiClient.Jsonl(total, i => new { id = $"t{i}", text = $"term test {i}" }), JobApiClient.Fields("deepseek-chat"));
        await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Succeeded >= 600, TimeSpan.FromMinutes(1));

        var workers = stack.ServiceProcesses("Worker");
        Assert.True(workers.Count >= 2, $"expected two worker processes, found {workers.Count}");
        var victim = workers[0];
        var logsBefore = stack.Logs.Count;
        var stopwatch = Stopwatch.StartNew();
        using (var kill = Process.Start("kill", $"-TERM {victim.Id}"))
        {
            await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
            Assert.Equal(0, kill.ExitCode);
        }
        // Exited means gone or a zombie: the orchestrator, its parent, may reap it a while later.
        while (!Exited(victim.Id))
        {
            Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(60), "the worker did not exit within a minute of SIGTERM");
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
        stopwatch.Stop();
        var atExit = await stack.Api.GetJobAsync(created.Job.Id);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"worker {victim.Id} exited {stopwatch.Elapsed.TotalSeconds:0.00} s after SIGTERM; job at {atExit.Counters.Succeeded}/{total}");
        foreach (var line in stack.Logs.Skip(logsBefore).Where(l => l.Contains("Stopping", StringComparison.Ordinal) || l.Contains("shut", StringComparison.OrdinalIgnoreCase) || l.Contains("OpenTelemetry", StringComparison.Ordinal)).Take(20))
        {
            TestContext.Current.TestOutputHelper?.WriteLine(line);
        }
        Assert.True(stopwatch.Elapsed < ExitWithin + Slack, $"the worker took {stopwatch.Elapsed.TotalSeconds:0.0} s to exit after SIGTERM");
        Assert.True(atExit.Counters.Succeeded < total, "the job finished before the worker stopped: nothing was tested");

        // The other replica finishes the job: items given back are claimed at once, any left leased after their lease.
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(3));
        Assert.Equal(total, job.Counters.Succeeded);
        Assert.Equal(0, job.Counters.Failed);
        Assert.Equal(total, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @job AND state = 2 AND response_text IS NOT NULL", ("job", job.Id)));
        // Exactly once: one charged answer per item, none paid twice.
        Assert.Equal(total, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL", ("job", job.Id)));
        Assert.Equal(total, await stack.ScalarAsync<long>("SELECT count(DISTINCT item_id) FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL", ("job", job.Id)));
        Assert.Equal(job.Counters.CostUsd, await stack.ScalarAsync<decimal>("SELECT sum(cost_usd) FROM items WHERE job_id = @job", ("job", job.Id)));
        // Every call the provider received is in the ledger: answered, or in doubt if it was cancelled in flight.
        using var stats = System.Text.Json.JsonDocument.Parse(await stack.SimPrimary.GetStringAsync("/admin/stats"));
        var served = stats.RootElement.GetProperty("chatRequests").GetInt64();
        var recorded = await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code IS DISTINCT FROM 'circuit_open' AND error_code IS DISTINCT FROM 'internal'", ("job", job.Id));
        var inDoubt = await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'unknown'", ("job", job.Id));
        TestContext.Current.TestOutputHelper?.WriteLine($"{served} calls served, {recorded} recorded, {inDoubt} in doubt");
        Assert.Equal(served, recorded);
        Assert.Equal(inDoubt, job.Counters.InDoubtCalls);

        // The stopped replica comes back through Aspire's resource command and works again.
        Assert.True(await StartStoppedWorkersAsync() >= 1, "the stopped replica was not started again");
        var after = await stack.Api.CreateAsync("after.jsonl", JobApiClient.Jsonl(200, i => new { id = $"a{i}", text = $"after {i}" }), JobApiClient.Fields("deepseek-chat"));
        Assert.Equal(200, (await stack.Api.WaitForStateAsync(after.Job.Id, JobState.Completed, TimeSpan.FromMinutes(1))).Counters.Succeeded);
    }

    /// <summary>
    /// Starts every worker replica that is not running (Aspire does not replace a replica that exited) and waits for
    /// its process; returns how many were started.
    /// </summary>
    private async Task<int> StartStoppedWorkersAsync()
    {
        var commands = stack.App.Services.GetRequiredService<ResourceCommandService>();
        var instances = await stack.WorkerInstancesAsync();
        Assert.True(instances.Length >= 2, $"expected two worker replicas, found {instances.Length}");
        var started = 0;
        // A replica that just exited may still show Running for a moment: wait for its state to catch up.
        var settle = Stopwatch.StartNew();
        while (stack.ServiceProcesses("Worker").Count < instances.Length && settle.Elapsed < TimeSpan.FromSeconds(15))
        {
            foreach (var id in instances)
            {
                if (stack.App.ResourceNotifications.TryGetCurrentState(id, out var state)
                    && state.Snapshot.State?.Text is { } text && text != KnownResourceStates.Running && text != KnownResourceStates.Starting)
                {
                    var result = await commands.ExecuteCommandAsync(id, "resource-start");
                    Assert.True(result.Success, $"starting {id} ({text}) failed: {result.Message}");
                    started++;
                }
            }
            if (started > 0)
            {
                break;
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
        var wait = Stopwatch.StartNew();
        while (stack.ServiceProcesses("Worker").Count < instances.Length)
        {
            Assert.True(wait.Elapsed < TimeSpan.FromMinutes(1), $"only {stack.ServiceProcesses("Worker").Count} of {instances.Length} worker replicas run");
            await Task.Delay(TimeSpan.FromMilliseconds(250));
        }
        if (started > 0)
        {
            // Healthy means ready to claim (its health checks answer), not only started.
            var healthy = Stopwatch.StartNew();
            while (!instances.All(id => stack.App.ResourceNotifications.TryGetCurrentState(id, out var state)
                       && state.Snapshot.State?.Text == KnownResourceStates.Running
                       && state.Snapshot.HealthStatus is null or Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy))
            {
                Assert.True(healthy.Elapsed < TimeSpan.FromMinutes(1), "a restarted worker replica did not become healthy");
                await Task.Delay(TimeSpan.FromMilliseconds(250));
            }
        }
        return started;
    }

    private static bool Exited(int pid)
    {
        try
        {
            // Field 3 of /proc/<pid>/stat, after the parenthesised name, is the state.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }
}
