using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Aspire.Hosting.ApplicationModel;
using AspireBatch.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AspireBatch.Tests;

/// <summary>What the native batch tests share: a batch-capable provider of their own on the fast simulator, its counters, and killing workers.</summary>
internal sealed class NativeBatchStack(StackFixture stack)
{
    public const string Model = "deepseek-chat";
    public const decimal Price = 1m;
    private readonly List<Guid> _providers = [];

    private ResourceCommandService Commands => stack.App.Services.GetRequiredService<ResourceCommandService>();

    /// <summary>
    /// A provider on sim-primary that sells native batches at 50 % off (real time 1 USD/MTok in and out), and a route on it
    /// alone. Dearer than the seeded providers, so no other test's model resolves to it.
    /// </summary>
    public async Task<(string Route, ProviderDto Provider)> ProviderRouteAsync(string prefix)
    {
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var name = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        var response = await stack.Api.PostAsJsonAsync("/api/providers",
            new ProviderRequest(name, sim + "/v1", StackFixture.SimulatorKey, SupportsNativeBatch: true, BatchDiscountPercent: 50));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var provider = (await response.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        _providers.Add(provider.Id);
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/{Model}", new ModelPriceDto(Model, Price, Price))).EnsureSuccessStatusCode();
        (await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(name, [new RouteTargetRequest(name, Model)]))).EnsureSuccessStatusCode();
        return (name, provider with { SupportsNativeBatch = true });
    }

    public async Task DisableProvidersAsync()
    {
        foreach (var id in _providers)
        {
            var provider = await stack.Api.GetFromJsonAsync<ProviderDto>($"/api/providers/{id}", StackFixture.Json);
            if (provider is not null)
            {
                await stack.Api.PutAsJsonAsync($"/api/providers/{id}", new ProviderRequest(provider.Name, provider.BaseUrl, null, Enabled: false));
            }
        }
    }

    public async Task BatchSettingsAsync(int turnaroundMs, double lineFailureRate = 0)
    {
        foreach (var sim in new[] { stack.SimPrimary, stack.SimFallback })
        {
            (await sim.PutAsJsonAsync("/admin/config", new { batchTurnaroundMs = turnaroundMs, batchLineFailureRate = lineFailureRate })).EnsureSuccessStatusCode();
        }
    }

    /// <summary>
    /// Pauses the jobs earlier test classes left queued or running, then waits for sim-primary to go quiet: these tests
    /// count its real-time calls, and a leftover job still calling it would be counted as theirs (CI once saw two).
    /// </summary>
    public async Task PauseLeftoverJobsAsync()
    {
        var leftovers = new List<Guid>();
        await using (var connection = new NpgsqlConnection(stack.DatabaseConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT id FROM jobs WHERE state IN (@queued, @running)", connection);
            command.Parameters.AddWithValue("queued", (int)JobState.Queued);
            command.Parameters.AddWithValue("running", (int)JobState.Running);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                leftovers.Add(reader.GetGuid(0));
            }
        }
        foreach (var id in leftovers)
        {
            await stack.Api.PostAsync($"/api/jobs/{id}/pause", null); // one that has just finished answers 409: fine
        }
        var watch = Stopwatch.StartNew();
        var last = (await CountersAsync()).ChatRequests;
        while (watch.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(1000);
            var now = (await CountersAsync()).ChatRequests;
            if (now == last)
            {
                return;
            }
            last = now;
        }
        Assert.Fail("sim-primary still answers real-time calls 30 s after every other job was paused");
    }

    /// <summary>The fast simulator's counters: real-time chat calls, and its native batches (created, lines answered).</summary>
    public async Task<(long ChatRequests, long BatchesCreated, long LinesAnswered)> CountersAsync()
    {
        using var stats = JsonDocument.Parse(await stack.SimPrimary.GetStringAsync("/admin/stats"));
        var batches = stats.RootElement.GetProperty("batches");
        return (stats.RootElement.GetProperty("chatRequests").GetInt64(), batches.GetProperty("created").GetInt64(), batches.GetProperty("linesAnswered").GetInt64());
    }

    public async Task<JobProviderBatches> BatchesAsync(Guid jobId) =>
        (await stack.Api.GetFromJsonAsync<JobProviderBatches>($"/api/jobs/{jobId}/provider-batches", StackFixture.Json))!;

    /// <summary>Waits until the job's provider batches satisfy <paramref name="condition"/> (read from the database, fast).</summary>
    public async Task WaitForBatchesAsync(Guid jobId, string condition, TimeSpan timeout, params (string Name, object Value)[] more)
    {
        var watch = Stopwatch.StartNew();
        while (await stack.ScalarAsync<long>($"SELECT count(*) FROM provider_batches WHERE job_id = @job AND {condition}", [("job", jobId), .. more]) == 0)
        {
            Assert.True(watch.Elapsed < timeout, $"no provider batch of job {jobId} reached \"{condition}\" within {timeout}");
            await Task.Delay(50);
        }
    }

    /// <summary>SIGKILLs every worker of this stack (either may hold the batch's lock) and starts them again, healthy.</summary>
    public async Task KillWorkersAndRestartAsync()
    {
        var workers = stack.ServiceProcesses("Worker");
        Assert.True(workers.Count >= 1, "no worker process found");
        foreach (var worker in workers)
        {
            worker.Kill(); // SIGKILL: no drain, no shutdown code
        }
        foreach (var worker in workers)
        {
            await worker.WaitForExitAsync();
        }
        var instances = await stack.WorkerInstancesAsync();
        var wait = Stopwatch.StartNew();
        var started = new HashSet<string>();
        while (stack.ServiceProcesses("Worker").Count < instances.Length
               || !instances.All(id => stack.App.ResourceNotifications.TryGetCurrentState(id, out var state)
                   && state.Snapshot.State?.Text == KnownResourceStates.Running
                   && state.Snapshot.HealthStatus is null or Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy))
        {
            Assert.True(wait.Elapsed < TimeSpan.FromMinutes(1.5), $"only {stack.ServiceProcesses("Worker").Count} of {instances.Length} workers run again");
            foreach (var id in instances.Where(i => !started.Contains(i)))
            {
                if (stack.App.ResourceNotifications.TryGetCurrentState(id, out var state)
                    && state.Snapshot.State?.Text is { } text && text != KnownResourceStates.Running && text != KnownResourceStates.Starting)
                {
                    var result = await Commands.ExecuteCommandAsync(id, "resource-start");
                    Assert.True(result.Success, $"starting {id} ({text}) failed: {result.Message}");
                    started.Add(id);
                }
            }
            await Task.Delay(250);
        }
    }

    /// <summary>Every record answered once: one succeeded record per line, one charged attempt each, the job's cost the sum of its attempts'.</summary>
    public async Task AssertAnsweredOnceAsync(Guid jobId, int total)
    {
        Assert.Equal(total, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @job AND state = 2", ("job", jobId)));
        Assert.Equal(0, await stack.ScalarAsync<long>("""
            SELECT count(*) FROM (SELECT item_id FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL GROUP BY item_id HAVING count(*) <> 1) twice
            """, ("job", jobId)));
        Assert.Equal(total, await stack.ScalarAsync<long>("SELECT count(DISTINCT item_id) FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL", ("job", jobId)));
        var jobCost = await stack.ScalarAsync<decimal>("SELECT cost_usd FROM jobs WHERE id = @job", ("job", jobId));
        var attemptsCost = await stack.ScalarAsync<decimal>("SELECT coalesce(sum(cost_usd), 0) FROM attempts WHERE job_id = @job", ("job", jobId));
        Assert.Equal(attemptsCost, jobCost);
    }
}
