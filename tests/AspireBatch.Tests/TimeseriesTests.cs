using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>
/// GET /api/jobs/{id}/timeseries: a job's calls in date_bin buckets over its attempts, which add up to what the
/// ledger holds for the job (calls sent, successes, errors, tokens) and to the job's cost.
/// </summary>
public sealed class TimeseriesTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync(primaryLatencyMs: 20);

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task The_buckets_of_a_finished_job_add_up_to_its_attempts_and_cost()
    {
        // Some 500s so there are errors and retries to count; a rate cap so the run spans several seconds.
        (await stack.SimPrimary.PutAsJsonAsync("/admin/config", new { error500Rate = 0.15 })).EnsureSuccessStatusCode();
        var route = $"series-{Guid.NewGuid().ToString("N")[..6]}";
        (await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(route, [new RouteTargetRequest("sim-primary", "deepseek-chat")]))).EnsureSuccessStatusCode();
        var created = await stack.Api.CreateAsync("series.jsonl", JobApiClient.Jsonl(120, i => new { id = i, text = $"s{i}" }),
            JobApiClient.Fields(route, "Classify: {{text}}", ("startPaused", "true")));
        (await stack.Api.PutAsJsonAsync($"/api/jobs/{created.Job.Id}/settings", new JobSettingsRequest(RequestsPerMinuteCap: 1800, BudgetUsd: null))).EnsureSuccessStatusCode();
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/resume", null)).EnsureSuccessStatusCode();
        var job = await stack.Api.WaitForAsync(created.Job.Id, j => j.State is JobState.Completed or JobState.Failed, TimeSpan.FromMinutes(2));
        Assert.Equal(120, job.Counters.Succeeded + job.Counters.Failed);

        var ledger = await LedgerAsync(job.Id);
        Assert.True(ledger.Errors > 0, "the simulator's 500s should have left failed attempts");

        var series = await SeriesAsync(job.Id);
        Assert.Equal(job.Id, series.JobId);
        Assert.InRange(series.Buckets.Count, 2, 200);
        AssertContiguousAndAligned(series);
        AssertAddsUp(series, job, ledger);
        Assert.All(series.Buckets.Where(b => b.Calls > b.InDoubtCalls), b =>
        {
            Assert.NotNull(b.MeanLatencyMs);
            Assert.True(b.P95LatencyMs >= b.MeanLatencyMs * 0.5, $"p95 {b.P95LatencyMs} against mean {b.MeanLatencyMs}");
        });

        // One-second buckets: the same totals, one bucket per second from the first call to the last.
        var fine = await SeriesAsync(job.Id, "bucketSeconds=1");
        Assert.Equal(1, fine.BucketSeconds);
        Assert.Equal((long)(fine.Buckets[^1].Start - fine.Buckets[0].Start).TotalSeconds + 1, fine.Buckets.Count);
        AssertContiguousAndAligned(fine);
        AssertAddsUp(fine, job, ledger);

        // From a moment inside the last bucket: that bucket and nothing before it, as the job page asks while a job runs.
        var last = fine.Buckets[^1];
        var tail = await SeriesAsync(job.Id, $"bucketSeconds=1&from={Uri.EscapeDataString(last.Start.AddMilliseconds(400).ToString("O"))}");
        Assert.Equal(last, Assert.Single(tail.Buckets));
    }

    [Fact]
    public async Task A_job_without_calls_has_no_buckets()
    {
        var created = await stack.Api.CreateAsync("idle.jsonl", JobApiClient.Jsonl(3, i => new { id = i, text = "t" }),
            JobApiClient.Fields("deepseek-chat", "Classify: {{text}}", ("startPaused", "true")));
        var series = await SeriesAsync(created.Job.Id);
        Assert.Empty(series.Buckets);
        Assert.True(series.BucketSeconds >= 1);
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/cancel", null)).EnsureSuccessStatusCode();
    }

    [Theory]
    [InlineData("bucketSeconds=0")]
    [InlineData("bucketSeconds=-5")]
    [InlineData("bucketSeconds=604801")]
    public async Task A_bucket_size_out_of_range_is_a_validation_problem(string query)
    {
        var created = await stack.Api.CreateAsync("bad-bucket.jsonl", JobApiClient.Jsonl(1, i => new { id = i, text = "t" }),
            JobApiClient.Fields("deepseek-chat", "Classify: {{text}}", ("startPaused", "true")));
        var response = await stack.Api.GetAsync($"/api/jobs/{created.Job.Id}/timeseries?{query}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("bucketSeconds", out _), problem.RootElement.ToString());
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/cancel", null)).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task An_unknown_job_is_a_404() =>
        Assert.Equal(HttpStatusCode.NotFound, (await stack.Api.GetAsync($"/api/jobs/{Guid.NewGuid()}/timeseries")).StatusCode);

    private sealed record Ledger(long Calls, long Succeeded, long Errors, long InputTokens, long OutputTokens, decimal CostUsd);

    /// <summary>The job's attempts straight from Postgres, counted as the usage figures count them: calls that went out.</summary>
    private async Task<Ledger> LedgerAsync(Guid jobId)
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new Npgsql.NpgsqlCommand("""
            SELECT count(*), count(*) FILTER (WHERE error_code IS NULL), count(*) FILTER (WHERE error_code IS NOT NULL),
                   coalesce(sum(input_tokens), 0)::bigint, coalesce(sum(output_tokens), 0)::bigint, coalesce(sum(cost_usd), 0)
            FROM attempts WHERE job_id = @job AND error_code IS DISTINCT FROM 'internal' AND error_code IS DISTINCT FROM 'circuit_open'
            """, connection);
        command.Parameters.AddWithValue("job", jobId);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new Ledger(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetDecimal(5));
    }

    private async Task<JobTimeseries> SeriesAsync(Guid jobId, string? query = null)
    {
        var response = await stack.Api.GetAsync($"/api/jobs/{jobId}/timeseries{(query is null ? "" : "?" + query)}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"timeseries {query}: {(int)response.StatusCode} {body}");
        return JsonSerializer.Deserialize<JobTimeseries>(body, StackFixture.Json)!;
    }

    private static void AssertContiguousAndAligned(JobTimeseries series)
    {
        Assert.All(series.Buckets, b => Assert.Equal(0, b.Start.ToUnixTimeSeconds() % series.BucketSeconds));
        for (var i = 1; i < series.Buckets.Count; i++)
        {
            Assert.Equal(series.Buckets[i - 1].Start.AddSeconds(series.BucketSeconds), series.Buckets[i].Start);
        }
    }

    private static void AssertAddsUp(JobTimeseries series, JobDto job, Ledger ledger)
    {
        var b = series.Buckets;
        Assert.Equal(
            (ledger.Calls, ledger.Succeeded, ledger.Errors, ledger.InputTokens, ledger.OutputTokens, ledger.CostUsd),
            (b.Sum(x => x.Calls), b.Sum(x => x.Succeeded), b.Sum(x => x.Errors), b.Sum(x => x.InputTokens), b.Sum(x => x.OutputTokens), b.Sum(x => x.CostUsd)));
        Assert.All(b, x => Assert.Equal(x.Calls, x.Succeeded + x.Errors));
        // Every succeeded item has exactly one successful call, and the job's cost is the cost of its calls.
        Assert.Equal(job.Counters.Succeeded, b.Sum(x => x.Succeeded));
        Assert.Equal(job.Counters.CostUsd, b.Sum(x => x.CostUsd));
    }
}
