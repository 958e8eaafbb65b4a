using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using AspireBatch.Contracts;
using AspireBatch.Data.Lifecycle;
using Npgsql;

namespace AspireBatch.Tests;

/// <summary>
/// Jobs in provider-batch and auto mode against the simulator's own /v1/files and /v1/batches: every record answered
/// once (the simulator's real-time calls plus batch lines answered equal the records), at the batch price.
/// </summary>
public sealed class NativeBatchModeTests(StackFixture stack) : IAsyncLifetime
{
    private readonly NativeBatchStack _native = new(stack);

    public async ValueTask InitializeAsync()
    {
        await _native.PauseLeftoverJobsAsync();
        await stack.ResetSimulatorsAsync();
        await _native.BatchSettingsAsync(turnaroundMs: 1000);
    }

    public async ValueTask DisposeAsync()
    {
        await _native.DisableProvidersAsync();
        await _native.BatchSettingsAsync(turnaroundMs: 3000);
        await stack.ResetSimulatorsAsync();
    }

    [Fact]
    public async Task A_provider_batch_job_of_10000_records_is_answered_once_by_the_providers_batches_at_half_price()
    {
        const int total = 10_000;
        var (route, _) = await _native.ProviderRouteAsync("native-pb");
        var before = await _native.CountersAsync();
        var created = await stack.Api.CreateAsync("native.jsonl", JobApiClient.Jsonl(total, i => new { id = $"n{i}", text = $"native review {i}" }),
            JobApiClient.Fields(route, more: ("mode", "provider-batch")));
        Assert.Equal(JobMode.ProviderBatch, created.Job.Mode);
        // The estimate shows both prices: the batch bound is half the real-time one at a 50 % discount.
        Assert.NotNull(created.Estimate.BatchCostBoundUsd);
        Assert.Equal(created.Estimate.CostBoundUsd / 2, created.Estimate.BatchCostBoundUsd!.Value, 6);

        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(4));
        var after = await _native.CountersAsync();

        Assert.Equal(total, job.Counters.Succeeded);
        Assert.Equal(0, after.ChatRequests - before.ChatRequests); // nothing went in real time
        Assert.Equal(total, after.LinesAnswered - before.LinesAnswered); // each line answered once by the provider
        await _native.AssertAnsweredOnceAsync(job.Id, total);
        // 10,000 records in chunks of at most 4,000 lines (Worker:NativeBatch:MaxLines in the fixture): three batches, each created once.
        var batches = await _native.BatchesAsync(job.Id);
        Assert.Equal(3, batches.Batches.Count);
        Assert.Equal(3, after.BatchesCreated - before.BatchesCreated);
        Assert.All(batches.Batches, b => Assert.True(b.State == ProviderBatchState.Done && b.RemoteStatus == "completed" && b.Lines <= 4000, $"{b}"));
        Assert.Equal(total, batches.Batches.Sum(b => b.Lines));
        // Priced at the batch price: half of what the same tokens cost in real time, and every record names its batch.
        Assert.Equal(job.Counters.CostUsd, batches.BatchCostUsd);
        Assert.True(batches.BatchCostUsd > 0);
        Assert.Equal(batches.RealtimeEquivalentUsd / 2, batches.BatchCostUsd, 8);
        Assert.Equal(batches.BatchCostUsd, batches.SavingUsd, 8);
        Assert.Equal(0, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @job AND provider_batch_id IS NULL", ("job", job.Id)));
        Assert.Equal(0, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND provider_batch_id IS NULL", ("job", job.Id)));
        // The answers are the simulator's for these records (the same function answers a batch line and a real-time call).
        var exported = await stack.Api.ExportAsync(job.Id);
        Assert.Equal(total, exported.Count);
        Assert.All(exported, e => Assert.False(string.IsNullOrEmpty(e.GetProperty("answer").GetString())));
        // Each result names the provider batch that answered it, in the lineage export.
        var text = await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=jsonl&lineage=true");
        var named = text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement.GetProperty("lineage").GetProperty("provider_batch_id").GetGuid()).ToHashSet();
        Assert.Equal(batches.Batches.Select(b => b.Id).ToHashSet(), named);
    }

    [Fact]
    public async Task An_auto_job_whose_deadline_is_too_short_for_the_batch_finishes_in_real_time_before_it()
    {
        const int total = 10_000;
        // The batch would take 2 minutes; the deadline is 45 s away and the fixture keeps 30 s for real time, so the batch
        // is cancelled after about 15 s with part of its lines answered, and the rest runs in real time.
        await _native.BatchSettingsAsync(turnaroundMs: 120_000);
        var (route, _) = await _native.ProviderRouteAsync("native-auto");
        var before = await _native.CountersAsync();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(45);
        var created = await stack.Api.CreateAsync("auto.jsonl", JobApiClient.Jsonl(total, i => new { id = $"a{i}", text = $"auto review {i}" }),
            JobApiClient.Fields(route, more: [("mode", "auto"), ("deadline", deadline.ToString("o", CultureInfo.InvariantCulture))]));
        Assert.Equal(JobMode.Auto, created.Job.Mode);

        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(3));
        var after = await _native.CountersAsync();

        Assert.Equal(total, job.Counters.Succeeded);
        Assert.True(job.CompletedAt <= deadline, $"completed at {job.CompletedAt:O}, after the deadline {deadline:O}");
        var realtime = after.ChatRequests - before.ChatRequests;
        var batched = after.LinesAnswered - before.LinesAnswered;
        // Every record answered once, by one of the two ways.
        Assert.Equal(total, realtime + batched);
        Assert.True(batched > 0, "no line was answered by the provider's batch before the cutoff");
        Assert.True(realtime > 0, "nothing ran in real time: the deadline did not call for it");
        await _native.AssertAnsweredOnceAsync(job.Id, total);
        var batches = await _native.BatchesAsync(job.Id);
        Assert.All(batches.Batches, b => Assert.True(b.State == ProviderBatchState.Done && b.CancelReason is not null, $"{b}"));
        Assert.Contains(batches.Batches, b => b.RemoteStatus == "cancelled");
        // The ledger splits the two: the batch lines at half price, the rest at the real-time price.
        Assert.Equal(batched, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND provider_batch_id IS NOT NULL AND cost_usd IS NOT NULL", ("job", job.Id)));
        Assert.Equal(realtime, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND provider_batch_id IS NULL AND cost_usd IS NOT NULL", ("job", job.Id)));
        Assert.Equal(job.Counters.CostUsd, batches.BatchCostUsd + batches.RealtimeCostUsd);
    }

    [Fact]
    public async Task Pausing_a_provider_batch_job_cancels_its_batch_at_the_provider_and_resuming_finishes_it()
    {
        const int total = 1_500;
        await _native.BatchSettingsAsync(turnaroundMs: 60_000);
        var (route, _) = await _native.ProviderRouteAsync("native-pause");
        var before = await _native.CountersAsync();
        var created = await stack.Api.CreateAsync("pause.jsonl", JobApiClient.Jsonl(total, i => new { id = $"p{i}", text = $"pause review {i}" }),
            JobApiClient.Fields(route, more: ("mode", "provider-batch")));
        await _native.WaitForBatchesAsync(created.Job.Id, "state = 2", TimeSpan.FromMinutes(1));
        await Task.Delay(TimeSpan.FromSeconds(3)); // a few lines get answered

        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/pause", null)).EnsureSuccessStatusCode();
        await _native.WaitForBatchesAsync(created.Job.Id, "state = 4 AND remote_status = 'cancelled'", TimeSpan.FromMinutes(1));
        var paused = await stack.Api.GetJobAsync(created.Job.Id);
        Assert.Equal(JobState.Paused, paused.State);
        Assert.True(paused.Counters.Succeeded < total, "the batch finished before the pause: nothing was tested");
        // What the cancelled batch had not answered is back in the queue, in no batch.
        Assert.Equal(total - paused.Counters.Succeeded, await stack.ScalarAsync<long>(
            "SELECT count(*) FROM items WHERE job_id = @job AND state = 0 AND provider_batch_id IS NULL", ("job", created.Job.Id)));

        await _native.BatchSettingsAsync(turnaroundMs: 500);
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/resume", null)).EnsureSuccessStatusCode();
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        var after = await _native.CountersAsync();
        Assert.Equal(total, job.Counters.Succeeded);
        Assert.Equal(total, after.LinesAnswered - before.LinesAnswered);
        Assert.Equal(0, after.ChatRequests - before.ChatRequests);
        await _native.AssertAnsweredOnceAsync(job.Id, total);
        Assert.Equal(2, (await _native.BatchesAsync(job.Id)).Batches.Count);
    }

    [Fact]
    public async Task Workers_packing_the_same_job_at_once_make_one_batch_not_several_half_size_ones()
    {
        const int total = 10_000;
        var (route, provider) = await _native.ProviderRouteAsync("native-pack");
        // Paused, so the stack's own workers leave it to the packers below.
        var created = await stack.Api.CreateAsync("pack.jsonl", JobApiClient.Jsonl(total, i => new { id = $"k{i}", text = $"pack review {i}" }),
            JobApiClient.Fields(route, more: [("mode", "provider-batch"), ("startPaused", "true")]));
        await using var dataSource = NpgsqlDataSource.Create(stack.DatabaseConnectionString);
        var lifecycle = new ItemLifecycle(dataSource);
        const int packers = 8;
        // Connections opened beforehand, so the packers start together rather than one per connection opened.
        var warm = await Task.WhenAll(Enumerable.Range(0, packers).Select(_ => dataSource.OpenConnectionAsync().AsTask()));
        foreach (var connection in warm)
        {
            await connection.DisposeAsync();
        }
        using var start = new SemaphoreSlim(0);
        var packing = Enumerable.Range(0, packers).Select(_ => Task.Run(async () =>
        {
            await start.WaitAsync();
            return await lifecycle.PackProviderBatchAsync(new NewProviderBatch(Guid.CreateVersion7(), created.Job.Id, provider.Id, NativeBatchStack.Model,
                JobEndpoint.ChatCompletions, Guid.NewGuid(), 0.5m, 0.5m, 1m, 1m, null), maxLines: total, CancellationToken.None);
        })).ToList();
        start.Release(packers);
        var taken = await Task.WhenAll(packing);

        Assert.Equal([total], taken.Where(n => n > 0));
        Assert.Equal(1, await stack.ScalarAsync<long>("SELECT count(*) FROM provider_batches WHERE job_id = @job", ("job", created.Job.Id)));
        // Cancelling gives the packed records back through the engine, as for any job.
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/cancel", null)).EnsureSuccessStatusCode();
        await _native.WaitForBatchesAsync(created.Job.Id, "state = 4", TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task Lines_the_provider_failed_go_into_the_next_batch_and_every_record_is_answered_once()
    {
        const int total = 1_000;
        // 5 % of lines answer 500 in the error file: retryable, so their records are packed again (a record fails only
        // after Worker:MaxAttempts such calls, 0.05^5 each).
        await _native.BatchSettingsAsync(turnaroundMs: 500, lineFailureRate: 0.05);
        var (route, _) = await _native.ProviderRouteAsync("native-fail");
        var before = await _native.CountersAsync();
        var created = await stack.Api.CreateAsync("fail.jsonl", JobApiClient.Jsonl(total, i => new { id = $"f{i}", text = $"fail review {i}" }),
            JobApiClient.Fields(route, more: ("mode", "provider-batch")));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(3));
        var after = await _native.CountersAsync();

        Assert.Equal(total, job.Counters.Succeeded);
        Assert.Equal(total, after.LinesAnswered - before.LinesAnswered);
        Assert.Equal(0, after.ChatRequests - before.ChatRequests);
        await _native.AssertAnsweredOnceAsync(job.Id, total);
        var failedLines = await stack.ScalarAsync<long>(
            "SELECT count(*) FROM attempts WHERE job_id = @job AND status_code = 500 AND provider_batch_id IS NOT NULL AND cost_usd IS NULL", ("job", job.Id));
        Assert.True(failedLines > 0, "no line failed: nothing was tested");
        var batches = await _native.BatchesAsync(job.Id);
        Assert.True(batches.Batches.Count >= 2, $"the failed lines were not packed again ({batches.Batches.Count} batch)");
    }

    [Fact]
    public async Task Bad_modes_and_deadlines_are_refused_with_problem_details_and_create_nothing()
    {
        var (route, _) = await _native.ProviderRouteAsync("native-bad");
        var jobsBefore = await stack.ScalarAsync<long>("SELECT count(*) FROM jobs");
        var file = JobApiClient.Jsonl(3, i => new { id = $"b{i}", text = "x" });
        var soon = DateTimeOffset.UtcNow.AddHours(1).ToString("o", CultureInfo.InvariantCulture);
        var cases = new (string Why, Dictionary<string, string?> Fields, string Expected)[]
        {
            ("unknown mode", JobApiClient.Fields(route, more: ("mode", "overnight")), "Unknown mode"),
            ("auto without deadline", JobApiClient.Fields(route, more: ("mode", "auto")), "needs a deadline"),
            ("deadline in the past", JobApiClient.Fields(route, more: [("mode", "auto"), ("deadline", DateTimeOffset.UtcNow.AddMinutes(-1).ToString("o", CultureInfo.InvariantCulture))]), "in the past"),
            ("deadline without auto", JobApiClient.Fields(route, more: [("mode", "provider-batch"), ("deadline", soon)]), "mode auto only"),
            // The seeded sim-fallback sells batches; a provider of our own that does not: its route refuses batch modes.
            ("provider without native batches", JobApiClient.Fields(await RealtimeOnlyRouteAsync(), more: ("mode", "provider-batch")), "no native batches"),
        };
        foreach (var (why, fields, expected) in cases)
        {
            var response = await stack.Api.PostAsync("/api/jobs", JobApiClient.Form("bad.jsonl", file, fields));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{why}: {(int)response.StatusCode} {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains(expected, body, StringComparison.OrdinalIgnoreCase);
        }
        Assert.Equal(jobsBefore, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs"));
    }

    private async Task<string> RealtimeOnlyRouteAsync()
    {
        var (route, provider) = await _native.ProviderRouteAsync("native-rt");
        var response = await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}",
            new ProviderRequest(provider.Name, provider.BaseUrl, null, SupportsNativeBatch: false));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return route;
    }
}
