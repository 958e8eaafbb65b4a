using System.Net.Http.Json;
using Aspire.Hosting.ApplicationModel;
using AspireBatch.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace AspireBatch.Tests;

/// <summary>
/// Postgres stopped and started again mid-job through Aspire's resource commands (its data directory stays, so the
/// server comes back with every row): work waits for it, then goes on; nothing is lost, failed or paid twice.
/// </summary>
public sealed class PostgresRestartTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync(primaryLatencyMs: 50);

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task Postgres_restarted_mid_job_loses_nothing_fails_nothing_and_pays_once()
    {
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var name = $"pg-restart-{Guid.NewGuid().ToString("N")[..6]}";
        var provider = (await (await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest(name, sim + "/v1", StackFixture.SimulatorKey)))
            .Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 1m, 1m))).EnsureSuccessStatusCode();
        (await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(name, [new RouteTargetRequest(name, "deepseek-chat")]))).EnsureSuccessStatusCode();
        const int total = 20000;
        var created = await stack.Api.CreateAsync("pg.jsonl", JobApiClient.Jsonl(total, i => new { id = i, text = $"pg {i}" }), JobApiClient.Fields(name));
        await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Succeeded >= 500, TimeSpan.FromMinutes(1));

        // Shorter than the tests' 8 s lease, so the leases of calls in flight outlive the outage.
        var commands = stack.App.Services.GetRequiredService<ResourceCommandService>();
        var stopped = await commands.ExecuteCommandAsync("postgres", "resource-stop");
        Assert.True(stopped.Success, stopped.Message);
        await Task.Delay(TimeSpan.FromSeconds(3));
        var started = await commands.ExecuteCommandAsync("postgres", "resource-start");
        Assert.True(started.Success, started.Message);
        await stack.App.ResourceNotifications.WaitForResourceHealthyAsync("postgres").WaitAsync(TimeSpan.FromMinutes(1));
        // This test process's own pooled connections died with the server too; the services' pools mend themselves.
        Npgsql.NpgsqlConnection.ClearAllPools();
        // The Api's first writes after the restart meet its pooled connections the restart broke: an upload opens once
        // more on a fresh connection, and no request answers 500 (a lost connection is a 503 with Retry-After).
        for (var i = 0; i < 3; i++)
        {
            // The first with an Idempotency-Key: its lookup is the first statement the Api runs.
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs")
            {
                Content = JobApiClient.Form($"after{i}.jsonl", JobApiClient.Jsonl(3, r => new { id = r, text = $"after {r}" }), JobApiClient.Fields(name)),
            };
            if (i == 0)
            {
                request.Headers.Add("Idempotency-Key", "after-restart-" + Guid.NewGuid().ToString("N"));
            }
            var upload = await stack.Api.SendAsync(request);
            Assert.True(upload.StatusCode == System.Net.HttpStatusCode.Created, $"upload {i + 1} after the restart: {(int)upload.StatusCode} {await upload.Content.ReadAsStringAsync()}");
        }

        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(4));
        Assert.Equal(0, job.Counters.Failed);
        Assert.Equal(total, job.Counters.Succeeded);
        Assert.Equal(total, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @job AND state = 2 AND response_text IS NOT NULL", ("job", job.Id)));
        // One charged answer per record, and the job's cost is the sum of its items'.
        Assert.Equal(total, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL", ("job", job.Id)));
        Assert.Equal(job.Counters.CostUsd, await stack.ScalarAsync<decimal>("SELECT sum(cost_usd) FROM items WHERE job_id = @job", ("job", job.Id)));
        // The Api's /health says Healthy again once its pool has dropped the connections the restart broke.
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string health;
        do
        {
            await Task.Delay(200, wait.Token);
            health = await (await stack.Api.GetAsync("/health", wait.Token)).Content.ReadAsStringAsync(wait.Token);
        }
        while (health != "Healthy" && health != "Degraded");
    }
}
