using System.Diagnostics;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>
/// Every worker SIGKILLed at each stage of a provider batch (the fixture holds 1.5 s after each stored stage, so the kill
/// lands there), then started again: the batch resumes from its stored stage. Nothing is created at the provider twice,
/// no line is answered twice, and no record is written or paid twice.
/// </summary>
public sealed class NativeBatchCrashTests(StackFixture stack) : IAsyncLifetime
{
    private const int Total = 2_000;
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
    public async Task Killed_after_the_upload_the_batch_is_created_once()
    {
        var (job, before) = await StartAsync("crash-upload");
        await _native.WaitForBatchesAsync(job, "state = 1", TimeSpan.FromMinutes(1));
        var atKill = await _native.CountersAsync();
        Assert.Equal(before.BatchesCreated, atKill.BatchesCreated); // killed before the create
        await FinishAfterKillAsync(job, before);
    }

    [Fact]
    public async Task Killed_between_the_providers_create_and_our_store_the_batch_is_found_by_its_metadata_not_created_again()
    {
        var (job, before) = await StartAsync("crash-create");
        await _native.WaitForBatchesAsync(job, "state = 1", TimeSpan.FromMinutes(1));
        // The provider has the batch; we have not stored its id yet (the fixture holds there).
        var watch = Stopwatch.StartNew();
        while ((await _native.CountersAsync()).BatchesCreated == before.BatchesCreated)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(30), "the provider never saw the create");
            await Task.Delay(25);
        }
        Assert.Equal(1, await stack.ScalarAsync<long>("SELECT count(*) FROM provider_batches WHERE job_id = @job AND state = 1 AND remote_batch_id IS NULL", ("job", job)));
        await FinishAfterKillAsync(job, before);
    }

    [Fact]
    public async Task Killed_after_the_create_the_batch_is_polled_not_sent_again()
    {
        var (job, before) = await StartAsync("crash-submitted");
        await _native.WaitForBatchesAsync(job, "state = 2", TimeSpan.FromMinutes(1));
        await FinishAfterKillAsync(job, before);
    }

    [Fact]
    public async Task Killed_in_the_middle_of_the_download_no_result_is_written_or_paid_twice()
    {
        var (job, before) = await StartAsync("crash-download");
        // The first 500 results are written (one chunk), the rest not yet: the fixture holds after the first chunk.
        var watch = Stopwatch.StartNew();
        while (await stack.ScalarAsync<long>("SELECT succeeded_items FROM jobs WHERE id = @job", ("job", job)) == 0)
        {
            Assert.True(watch.Elapsed < TimeSpan.FromMinutes(1), "no result was written");
            await Task.Delay(25);
        }
        var written = await stack.ScalarAsync<long>("SELECT succeeded_items FROM jobs WHERE id = @job", ("job", job));
        Assert.True(written < Total, "every result was written before the kill: nothing was tested");
        Assert.Equal(1, await stack.ScalarAsync<long>("SELECT count(*) FROM provider_batches WHERE job_id = @job AND state = 3", ("job", job)));
        await FinishAfterKillAsync(job, before);
    }

    private async Task<(Guid Job, (long ChatRequests, long BatchesCreated, long LinesAnswered) Before)> StartAsync(string prefix)
    {
        var (route, _) = await _native.ProviderRouteAsync(prefix);
        var before = await _native.CountersAsync();
        var created = await stack.Api.CreateAsync($"{prefix}.jsonl", JobApiClient.Jsonl(Total, i => new { id = $"{prefix}{i}", text = $"{prefix} {i}" }),
            JobApiClient.Fields(route, more: ("mode", "provider-batch")));
        return (created.Job.Id, before);
    }

    private async Task FinishAfterKillAsync(Guid jobId, (long ChatRequests, long BatchesCreated, long LinesAnswered) before)
    {
        await _native.KillWorkersAndRestartAsync();
        var job = await stack.Api.WaitForStateAsync(jobId, JobState.Completed, TimeSpan.FromMinutes(3));
        var after = await _native.CountersAsync();
        Assert.Equal(Total, job.Counters.Succeeded);
        // One batch (2,000 lines), created once: a second create after the restart would count 2 here.
        Assert.Equal(1, after.BatchesCreated - before.BatchesCreated);
        Assert.Equal(Total, after.LinesAnswered - before.LinesAnswered); // no line answered twice
        Assert.Equal(0, after.ChatRequests - before.ChatRequests);
        await _native.AssertAnsweredOnceAsync(jobId, Total);
        Assert.Equal(1, await stack.ScalarAsync<long>("SELECT count(*) FROM provider_batches WHERE job_id = @job AND state = 4", ("job", jobId)));
    }
}
