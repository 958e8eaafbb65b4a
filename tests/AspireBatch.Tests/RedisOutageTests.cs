using System.Diagnostics;
using System.Net.Http.Json;
using Aspire.Hosting.ApplicationModel;
using AspireBatch.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace AspireBatch.Tests;

/// <summary>
/// Redis stopped and started again mid-job through Aspire's resource commands (killing the process would leave the
/// orchestrator's proxy dead): our own infrastructure failing must never fail a user's record.
/// </summary>
public sealed class RedisOutageTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync(primaryLatencyMs: 100);

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task Redis_stopped_mid_job_fails_no_record_and_the_job_finishes()
    {
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var name = $"redis-outage-{Guid.NewGuid().ToString("N")[..6]}";
        var provider = (await (await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest(name, sim + "/v1", StackFixture.SimulatorKey)))
            .Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 1m, 1m))).EnsureSuccessStatusCode();
        (await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(name, [new RouteTargetRequest(name, "deepseek-chat")]))).EnsureSuccessStatusCode();
        const int total = 30000;
        var created = await stack.Api.CreateAsync("redis.jsonl", JobApiClient.Jsonl(total, i => new { id = i, text = $"redis {i}" }), JobApiClient.Fields(name));
        await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Succeeded >= 300, TimeSpan.FromMinutes(1));

        var before = await RateAsync(created.Job.Id, TimeSpan.FromSeconds(4));

        var commands = stack.App.Services.GetRequiredService<ResourceCommandService>();
        var stopped = await commands.ExecuteCommandAsync("redis-server", "resource-stop");
        Assert.True(stopped.Success, stopped.Message);
        var outage = Stopwatch.StartNew();
        var duringOutage = await stack.Api.GetJobAsync(created.Job.Id);
        await Task.Delay(TimeSpan.FromSeconds(2));
        // The Api keeps answering, and says in /health that it works without Redis.
        var probe = Stopwatch.StartNew();
        var health = await stack.Api.GetAsync("/health");
        var healthMs = probe.ElapsedMilliseconds;
        var healthBody = await health.Content.ReadAsStringAsync();
        Assert.Equal("Degraded", healthBody);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await stack.Api.GetAsync($"/api/jobs/{created.Job.Id}")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await stack.Api.GetAsync("/api/providers/health")).StatusCode);
        var during = await RateAsync(created.Job.Id, TimeSpan.FromSeconds(6));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var started = await commands.ExecuteCommandAsync("redis-server", "resource-start");
        Assert.True(started.Success, started.Message);
        await stack.App.ResourceNotifications.WaitForResourceHealthyAsync("redis-server").WaitAsync(TimeSpan.FromMinutes(1));
        outage.Stop();

        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(4));
        Assert.Equal(0, job.Counters.Failed);
        Assert.Equal(total, job.Counters.Succeeded);
        Assert.Equal(total, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @job AND state = 2 AND response_text IS NOT NULL", ("job", job.Id)));
        // One charged answer per record: an item returned by our own fault is not paid twice.
        Assert.Equal(total, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL", ("job", job.Id)));
        var internalErrors = await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'internal'", ("job", job.Id));
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"Redis away {outage.Elapsed.TotalSeconds:0.0} s; {duringOutage.Counters.Succeeded} done when it stopped; {before:0} records/s before, " +
            $"{during:0} during (ratio {during / before:0.00}); /health {healthMs} ms; {internalErrors} internal attempts; job finished");
        Console.WriteLine($"redis outage: before {before:0.0}/s, during {during:0.0}/s, ratio {during / before:0.00}, health {healthMs} ms, internal attempts {internalErrors}");
    }

    private async Task<double> RateAsync(Guid jobId, TimeSpan over)
    {
        var first = (await stack.Api.GetJobAsync(jobId)).Counters.Succeeded;
        var clock = Stopwatch.StartNew();
        await Task.Delay(over);
        var last = (await stack.Api.GetJobAsync(jobId)).Counters.Succeeded;
        return (last - first) / clock.Elapsed.TotalSeconds;
    }
}
