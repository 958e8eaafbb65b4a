// The SDK marks its Batch client experimental (OPENAI001); user code calls it exactly like this.
#pragma warning disable OPENAI001
using System.ClientModel;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;
using OpenAI.Files;

namespace AspireBatch.Tests;

/// <summary>
/// Retention (POST /api/jobs/{id}/purge) on the real stack: a finished job's records and answers are deleted and
/// counted, its counters, history and attempts (the cost ledger) stay, so every cost report reads the same after the
/// purge; exports say the job was purged; a job that is still running (or paused, or cancelled but not settled) is
/// refused and keeps everything.
/// </summary>
public sealed class RetentionTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task A_finished_job_is_purged_its_records_counted_and_its_cost_ledger_kept()
    {
        // Some 500s, so the ledger holds failed attempts and retries besides one answer per record.
        (await stack.SimPrimary.PutAsJsonAsync("/admin/config", new { error500Rate = 0.1 })).EnsureSuccessStatusCode();
        var (provider, route) = await ProviderAndRouteAsync();
        var created = await stack.Api.CreateAsync("purge.jsonl", JobApiClient.Jsonl(300, i => new { id = $"p{i}", text = $"review {i}: late but works" }),
            JobApiClient.Fields(route));
        var job = await stack.Api.WaitForAsync(created.Job.Id, j => j.State is JobState.Completed or JobState.Failed, TimeSpan.FromMinutes(2));
        Assert.Equal(300, job.Counters.Succeeded + job.Counters.Failed);
        var attempts = await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @id", ("id", job.Id));
        Assert.True(attempts > 300, $"the 500s should have left retried attempts, found {attempts} for 300 records");
        Assert.Equal(300L, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @id", ("id", job.Id)));
        var bytesBefore = await stack.ScalarAsync<long>("SELECT coalesce(sum(pg_column_size(i.*)), 0)::bigint FROM items i WHERE job_id = @id", ("id", job.Id));
        var reportsBefore = await CostReportsAsync(job.Id, provider);

        var response = await stack.Api.PostAsync($"/api/jobs/{job.Id}/purge", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var purged = (await response.Content.ReadFromJsonAsync<JobPurged>(StackFixture.Json))!;
        Assert.Equal(300, purged.RecordsDeleted);
        Assert.Equal(bytesBefore, purged.BytesFreed);
        Assert.Equal(attempts, purged.AttemptsKept);
        Assert.NotNull(purged.Job.Purged);
        Assert.Equal(300, purged.Job.Purged!.Records);
        Assert.Equal(job.State, purged.Job.State);

        // The records and answers are gone; the ledger is whole.
        Assert.Equal(0L, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @id", ("id", job.Id)));
        Assert.Equal(attempts, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @id", ("id", job.Id)));
        var after = await stack.Api.GetJobAsync(job.Id);
        Assert.Equal(job.Counters, after.Counters);
        Assert.Equal(job.Estimate, after.Estimate);
        Assert.Equal(reportsBefore, await CostReportsAsync(job.Id, provider));

        // The history says what happened, with the records it freed.
        var events = (await stack.Api.GetFromJsonAsync<List<JobEventDto>>($"/api/jobs/{job.Id}/events", StackFixture.Json))!;
        var purge = Assert.Single(events, e => e.Kind == JobEventKind.Purged);
        Assert.Equal(job.State, purge.From);
        Assert.Equal(job.State, purge.To);
        Assert.Equal(300, purge.Items);
        Assert.Equal(JobActor.Operator, purge.Actor);
        Assert.Contains("cost ledger kept", purge.Reason);

        // Exports say the job was purged instead of streaming an empty file.
        foreach (var format in new[] { "jsonl", "csv", "openai" })
        {
            var export = await stack.Api.GetAsync($"/api/jobs/{job.Id}/export?format={format}");
            Assert.Equal(HttpStatusCode.Gone, export.StatusCode);
            var problem = await export.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Contains("purged", problem.GetProperty("detail").GetString());
            Assert.Equal(300, problem.GetProperty("records").GetInt32());
        }
        var items = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Id}/items", StackFixture.Json))!;
        Assert.Empty(items.Items);

        // A second purge changes and records nothing.
        var again = await stack.Api.PostAsync($"/api/jobs/{job.Id}/purge", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Contains("already purged", await again.Content.ReadAsStringAsync());
        Assert.Single((await stack.Api.GetFromJsonAsync<List<JobEventDto>>($"/api/jobs/{job.Id}/events", StackFixture.Json))!, e => e.Kind == JobEventKind.Purged);
    }

    [Fact]
    public async Task A_running_or_paused_job_is_refused_and_a_cancelled_one_is_purged_once_settled()
    {
        await stack.ResetSimulatorsAsync(primaryLatencyMs: 400);
        var (_, route) = await ProviderAndRouteAsync();
        var created = await stack.Api.CreateAsync("running.jsonl", JobApiClient.Jsonl(400, i => new { id = $"r{i}", text = $"r{i}" }), JobApiClient.Fields(route));
        var running = await stack.Api.WaitForAsync(created.Job.Id, j => j.State == JobState.Running && j.Counters.Succeeded > 0, TimeSpan.FromMinutes(1));

        var refused = await stack.Api.PostAsync($"/api/jobs/{running.Id}/purge", null);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains("running", (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.Equal(400L, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @id", ("id", running.Id)));

        (await stack.Api.PostAsync($"/api/jobs/{running.Id}/pause", null)).EnsureSuccessStatusCode();
        Assert.Equal(HttpStatusCode.Conflict, (await stack.Api.PostAsync($"/api/jobs/{running.Id}/purge", null)).StatusCode);
        Assert.Equal(400L, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @id", ("id", running.Id)));
        Assert.DoesNotContain((await stack.Api.GetFromJsonAsync<List<JobEventDto>>($"/api/jobs/{running.Id}/events", StackFixture.Json))!, e => e.Kind == JobEventKind.Purged);
        Assert.Null((await stack.Api.GetJobAsync(running.Id)).Purged);

        // Cancelled: refused while its last records settle (409 says how many), purged once they have.
        (await stack.Api.PostAsync($"/api/jobs/{running.Id}/cancel", null)).EnsureSuccessStatusCode();
        var deadline = DateTime.UtcNow.AddMinutes(1);
        HttpResponseMessage purge;
        while ((purge = await stack.Api.PostAsync($"/api/jobs/{running.Id}/purge", null)).StatusCode == HttpStatusCode.Conflict && DateTime.UtcNow < deadline)
        {
            Assert.Contains("pending or running", (await purge.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
            await Task.Delay(500);
        }
        Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
        var purged = (await purge.Content.ReadFromJsonAsync<JobPurged>(StackFixture.Json))!;
        Assert.Equal(400, purged.RecordsDeleted);
        Assert.Equal(JobState.Cancelled, purged.Job.State);
        Assert.Equal(400, purged.Job.Counters.Succeeded + purged.Job.Counters.Failed + purged.Job.Counters.Cancelled);

        // No such job: 404 and nothing else.
        Assert.Equal(HttpStatusCode.NotFound, (await stack.Api.PostAsync($"/api/jobs/{Guid.NewGuid()}/purge", null)).StatusCode);
    }

    [Fact]
    public async Task A_purged_batch_keeps_its_counts_and_its_output_file_says_it_was_purged()
    {
        var client = OpenAiSdk.Client(stack);
        var files = client.GetOpenAIFileClient();
        OpenAIFile file = await files.UploadFileAsync(BinaryData.FromString(OpenAiSdk.BatchLines(40, "deepseek-chat")), "purge.jsonl", FileUploadPurpose.Batch);
        var operation = await client.GetBatchClient().CreateBatchAsync(OpenAiSdk.CreateBatchBody(file.Id), waitUntilCompleted: false);
        var batch = await OpenAiSdk.WaitForCompletionAsync(operation, TimeSpan.FromMinutes(1));
        Assert.Equal("completed", batch.GetProperty("status").GetString());
        var output = batch.GetProperty("output_file_id").GetString()!;
        Assert.Equal(40, OpenAiSdk.Lines((await files.DownloadFileAsync(output)).Value.ToString()).Count);

        // A batch's id is batch_ and its job's id (BatchService).
        var jobId = Guid.ParseExact(operation.BatchId["batch_".Length..], "N");
        (await stack.Api.PostAsync($"/api/jobs/{jobId}/purge", null)).EnsureSuccessStatusCode();

        // The batch still reports what it did; its output file now says why it has nothing to give.
        var after = OpenAiSdk.Json(await client.GetBatchClient().GetBatchAsync(operation.BatchId, options: null));
        Assert.Equal("completed", after.GetProperty("status").GetString());
        Assert.Equal(40, after.GetProperty("request_counts").GetProperty("completed").GetInt32());
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => files.DownloadFileAsync(output));
        Assert.Equal(410, refused.Status);
        Assert.Contains("purged", refused.Message);
    }

    /// <summary>A provider of its own on the primary simulator, so the usage reports grouped by provider count this class's calls only.</summary>
    private async Task<(string Provider, string Route)> ProviderAndRouteAsync()
    {
        var name = $"retention-{Guid.NewGuid().ToString("N")[..6]}";
        var response = await stack.Api.PostAsJsonAsync("/api/providers",
            new ProviderRequest(name, stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/') + "/v1", StackFixture.SimulatorKey));
        response.EnsureSuccessStatusCode();
        var id = (await response.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!.Id;
        (await stack.Api.PutAsJsonAsync($"/api/providers/{id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.27m, 1.10m))).EnsureSuccessStatusCode();
        (await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(name, [new RouteTargetRequest(name, "deepseek-chat")],
            new RouteThresholds(AutoRollback: false)))).EnsureSuccessStatusCode();
        return (name, name);
    }

    /// <summary>What the cost reports say about the job and its provider, as JSON text to compare whole.</summary>
    private async Task<string> CostReportsAsync(Guid jobId, string provider)
    {
        var usage = (await stack.Api.GetFromJsonAsync<List<UsageByKey>>("/api/stats/usage?groupBy=provider", StackFixture.Json))!.Single(u => u.Key == provider);
        var daily = (await stack.Api.GetFromJsonAsync<List<UsageByDay>>("/api/stats/daily?groupBy=provider&days=2", StackFixture.Json))!.Where(d => d.Key == provider).ToList();
        var compare = await stack.Api.GetStringAsync($"/api/stats/compare?before={provider}/deepseek-chat&after={provider}/deepseek-chat");
        var series = await stack.Api.GetStringAsync($"/api/jobs/{jobId}/timeseries?bucketSeconds=1");
        Assert.True(usage.Usage.Calls > 0 && usage.Usage.CostUsd > 0, $"the provider's usage should count calls and cost: {usage}");
        return JsonSerializer.Serialize(new { usage, daily }, StackFixture.Json) + "\n" + compare + "\n" + series;
    }
}
