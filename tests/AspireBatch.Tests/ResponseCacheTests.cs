using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Simulator.Apis;

namespace AspireBatch.Tests;

/// <summary>
/// The opt-in response cache across jobs: a job with <c>responseCacheTtlSeconds</c> leaves its paid answers for later
/// jobs that opt in and send the same request; they are answered at import with no call and no cost, name the record
/// that paid, and an answer older than the TTL is asked again. Calls are counted by the simulators.
/// </summary>
public sealed class ResponseCacheTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task A_later_job_that_opts_in_takes_the_cached_answers_without_a_call_and_one_that_does_not_pays()
    {
        var prefix = Guid.NewGuid().ToString("N")[..8];
        var content = JobApiClient.Jsonl(40, i => new { id = $"r{i}", text = $"{prefix} cache me {i}" });
        // Temperature 0.7: the cache is the job's choice, not dedup's default.
        var fields = JobApiClient.Fields("deepseek-chat", more: [("temperature", "0.7"), ("responseCacheTtlSeconds", "3600")]);

        var before = await CallsAsync();
        var first = await stack.Api.CreateAsync("a.jsonl", content, fields);
        Assert.Equal((0, 3600), (first.Estimate.CachedCalls, first.Job.ResponseCacheTtlSeconds));
        Assert.Equal(40, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @job AND request_hash IS NOT NULL", ("job", first.Job.Id)));
        var paid = await stack.Api.WaitForStateAsync(first.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(40, await CallsAsync() - before);
        Assert.Equal(40, await stack.ScalarAsync<long>("SELECT count(*) FROM response_cache WHERE source_job_id = @job AND expires_at > now() + interval '50 minutes'", ("job", paid.Id)));
        var paidAnswers = (await stack.Api.ExportAsync(paid.Id)).ToDictionary(l => l.GetProperty("id").GetString()!, l => l.GetProperty("answer").GetString());

        before = await CallsAsync();
        var second = await stack.Api.CreateAsync("b.jsonl", content, fields);
        Assert.Equal(40, second.Estimate.CachedCalls);
        var cached = await stack.Api.WaitForStateAsync(second.Job.Id, JobState.Completed, TimeSpan.FromSeconds(30));
        Assert.Equal((40, 40, 0m), (cached.Counters.Succeeded, cached.CachedItems, cached.Counters.CostUsd));
        Assert.Equal(0, await CallsAsync() - before);
        var paidIds = await ItemIdsAsync(paid.Id);
        foreach (var line in Lines(await stack.Api.GetStringAsync($"/api/jobs/{cached.Id}/export?format=jsonl&lineage=true")))
        {
            var id = line.GetProperty("id").GetString()!;
            Assert.Equal(paidAnswers[id], line.GetProperty("answer").GetString());
            Assert.Equal(UsageSources.Cached, line.GetProperty("usage_source").GetString());
            Assert.Equal((0, 0m), (line.GetProperty("attempts").GetInt32(), line.GetProperty("cost_usd").GetDecimal()));
            Assert.Equal(paidIds[id], line.GetProperty("lineage").GetProperty("cached_from").GetInt64());
        }
        var item = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{cached.Id}/items?pageSize=1", StackFixture.Json))!.Items[0];
        var detail = (await stack.Api.GetFromJsonAsync<ItemDetailDto>($"/api/jobs/{cached.Id}/items/{item.Id}", StackFixture.Json))!;
        Assert.Equal(new CachedFromDto(paid.Id, paidIds[item.CustomId]), detail.Lineage!.CachedFrom);
        Assert.Empty(detail.AttemptHistory);

        // Off by default: the same records without the option are sent and paid.
        before = await CallsAsync();
        var plain = await stack.Api.CreateAsync("c.jsonl", content, JobApiClient.Fields("deepseek-chat", more: ("temperature", "0.7")));
        Assert.Equal(0, plain.Estimate.CachedCalls);
        var job = await stack.Api.WaitForStateAsync(plain.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(40, await CallsAsync() - before);
        Assert.True(job.Counters.CostUsd > 0);

        // Another parameter is another request: nothing cached for it.
        var other = await stack.Api.CreateAsync("d.jsonl", content, JobApiClient.Fields("deepseek-chat", more: [("temperature", "0.8"), ("responseCacheTtlSeconds", "3600")]));
        Assert.Equal(0, other.Estimate.CachedCalls);
        await stack.Api.WaitForStateAsync(other.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
    }

    [Fact]
    public async Task An_answer_older_than_the_jobs_ttl_or_past_its_own_expiry_is_asked_again()
    {
        var prefix = Guid.NewGuid().ToString("N")[..8];
        var content = JobApiClient.Jsonl(10, i => new { id = $"t{i}", text = $"{prefix} short lived {i}" });
        var first = await stack.Api.CreateAsync("a.jsonl", content, JobApiClient.Fields("deepseek-chat", more: ("responseCacheTtlSeconds", "2")));
        await stack.Api.WaitForStateAsync(first.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        await Task.Delay(TimeSpan.FromSeconds(3));

        // The entries expired (the writer's TTL), though this job would take answers up to an hour old.
        var before = await CallsAsync();
        var second = await stack.Api.CreateAsync("b.jsonl", content, JobApiClient.Fields("deepseek-chat", more: ("responseCacheTtlSeconds", "3600")));
        Assert.Equal(0, second.Estimate.CachedCalls);
        await stack.Api.WaitForStateAsync(second.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(10, await CallsAsync() - before);
        await Task.Delay(TimeSpan.FromSeconds(2));

        // Fresh entries (an hour left) but older than this job's own TTL of 1 s: asked again.
        before = await CallsAsync();
        var third = await stack.Api.CreateAsync("c.jsonl", content, JobApiClient.Fields("deepseek-chat", more: ("responseCacheTtlSeconds", "1")));
        Assert.Equal(0, third.Estimate.CachedCalls);
        await stack.Api.WaitForStateAsync(third.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(10, await CallsAsync() - before);
    }

    [Fact]
    public async Task Cached_embeddings_keep_their_vectors()
    {
        var prefix = Guid.NewGuid().ToString("N")[..8];
        var content = JobApiClient.Jsonl(8, i => new { id = $"v{i}", input = $"{prefix} vector {i}" });
        var fields = new Dictionary<string, string?> { ["model"] = "text-embedding-3-small", ["endpoint"] = "/v1/embeddings", ["dimensions"] = "16", ["responseCacheTtlSeconds"] = "600" };
        var first = await stack.Api.CreateAsync("a.jsonl", content, fields);
        await stack.Api.WaitForStateAsync(first.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(8, await stack.ScalarAsync<long>("SELECT count(*) FROM response_cache WHERE source_job_id = @job AND octet_length(embedding) = 64", ("job", first.Job.Id)));
        var second = await stack.Api.CreateAsync("b.jsonl", content, fields);
        Assert.Equal(8, second.Estimate.CachedCalls);
        var job = await stack.Api.WaitForStateAsync(second.Job.Id, JobState.Completed, TimeSpan.FromSeconds(30));
        foreach (var line in await stack.Api.ExportAsync(job.Id))
        {
            Assert.Equal(UsageSources.Cached, line.GetProperty("usage_source").GetString());
            Assert.Equal(EmbeddingsApi.Vector("text-embedding-3-small", line.GetProperty("record").GetProperty("input").GetString()!, 16),
                line.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()));
        }
    }

    [Theory]
    [InlineData("0", null, "responseCacheTtlSeconds must be between 1")]
    [InlineData("60", "false", "dedup=false forbids")]
    public async Task A_bad_cache_option_is_refused_and_creates_nothing(string ttl, string? dedup, string expected)
    {
        var jobsBefore = await stack.ScalarAsync<long>("SELECT count(*) FROM jobs");
        var fields = JobApiClient.Fields("deepseek-chat", more: [("responseCacheTtlSeconds", ttl), ("dedup", dedup)]);
        using var response = await stack.Api.PostAsync("/api/jobs", JobApiClient.Form("a.jsonl", JobApiClient.Jsonl(2, i => new { id = i, text = "x" }), fields));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(expected, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        Assert.Equal(jobsBefore, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs"));
    }

    private async Task<Dictionary<string, long>> ItemIdsAsync(Guid jobId)
    {
        var ids = new Dictionary<string, long>();
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT custom_id, id FROM items WHERE job_id = @job", connection);
        command.Parameters.AddWithValue("job", jobId);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids[reader.GetString(0)] = reader.GetInt64(1);
        }
        return ids;
    }

    private static List<JsonElement> Lines(string jsonl) =>
        jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    private async Task<long> CallsAsync()
    {
        long total = 0;
        foreach (var simulator in new[] { stack.SimPrimary, stack.SimFallback })
        {
            using var stats = JsonDocument.Parse(await simulator.GetStringAsync("/admin/stats"));
            total += stats.RootElement.GetProperty("chatRequests").GetInt64() + stats.RootElement.GetProperty("embeddingRequests").GetInt64();
        }
        return total;
    }
}
