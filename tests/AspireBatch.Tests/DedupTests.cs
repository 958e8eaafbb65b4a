using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Simulator;

namespace AspireBatch.Tests;

/// <summary>
/// Duplicates answered once: records of a job whose rendered requests are identical are sent once, the answer goes to
/// every such record, and the ledger charges the one that paid. Calls are counted by the simulators themselves.
/// </summary>
public sealed class DedupTests(StackFixture stack) : IAsyncLifetime
{
    private const decimal DeepseekPrice = 0.42m;

    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    /// <summary>300 records, 180 distinct texts: records 180..299 repeat the text of records 0..119.</summary>
    private static string WithDuplicates(int total, int distinct, string prefix) =>
        JobApiClient.Jsonl(total, i => new { id = $"{prefix}{i}", text = $"{prefix} text {i % distinct}" });

    [Fact]
    public async Task A_temperature_0_job_sends_each_distinct_request_once_and_answers_every_record()
    {
        var before = await ChatRequestsAsync();
        var created = await stack.Api.CreateAsync("dup.jsonl", WithDuplicates(300, 180, "d"), JobApiClient.Fields("deepseek-chat", more: ("temperature", "0")));
        Assert.Equal(120, created.Estimate.DeduplicatedCalls);
        Assert.Equal(120, created.Job.DeduplicatedItems);
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal((300, 0), (job.Counters.Succeeded, job.Counters.Failed));
        Assert.Equal(180, await ChatRequestsAsync() - before);

        var lines = (await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=jsonl&lineage=true"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Equal(300, lines.Count);
        decimal leadersCost = 0;
        foreach (var line in lines)
        {
            var n = int.Parse(line.GetProperty("id").GetString()![1..]);
            var text = line.GetProperty("record").GetProperty("text").GetString()!;
            Assert.Equal("succeeded", line.GetProperty("state").GetString());
            Assert.Equal(SimulatorAnswers.Answer("deepseek-chat", [("user", $"Classify: {text}")]), line.GetProperty("answer").GetString());
            var from = line.GetProperty("lineage").GetProperty("deduplicated_from");
            if (n < 180)
            {
                // A leader: its own call, its own cost.
                Assert.Equal(JsonValueKind.Null, from.ValueKind);
                Assert.Equal(UsageSources.Reported, line.GetProperty("usage_source").GetString());
                Assert.Equal(1, line.GetProperty("attempts").GetInt32());
                var tokens = line.GetProperty("input_tokens").GetInt32() + line.GetProperty("output_tokens").GetInt32();
                Assert.Equal(tokens * DeepseekPrice / 1_000_000m, line.GetProperty("cost_usd").GetDecimal());
                leadersCost += line.GetProperty("cost_usd").GetDecimal();
            }
            else
            {
                // A follower: the record that paid, no call, no cost.
                Assert.Equal($"d{n % 180}", from.GetProperty("id").GetString());
                Assert.Equal(UsageSources.Deduplicated, line.GetProperty("usage_source").GetString());
                Assert.Equal((0, 0, 0m), (line.GetProperty("attempts").GetInt32(), line.GetProperty("input_tokens").GetInt32(), line.GetProperty("cost_usd").GetDecimal()));
                Assert.Equal(UsageSources.Deduplicated, line.GetProperty("lineage").GetProperty("usage_source").GetString());
            }
        }
        Assert.Equal(leadersCost, job.Counters.CostUsd);
        Assert.Equal(180, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL", ("job", job.Id)));

        // The items grid and drawer name the record that paid.
        var followers = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Id}/items?page=2&pageSize=200", StackFixture.Json))!.Items;
        var follower = followers.First(i => i.CustomId == "d250");
        Assert.Equal("d70", follower.DuplicateOf!.CustomId);
        var detail = (await stack.Api.GetFromJsonAsync<ItemDetailDto>($"/api/jobs/{job.Id}/items/{follower.Id}", StackFixture.Json))!;
        Assert.Equal(follower.DuplicateOf, detail.Summary.DuplicateOf);
        Assert.Empty(detail.AttemptHistory);
        Assert.Null((await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Id}/items?pageSize=5", StackFixture.Json))!.Items[0].DuplicateOf);

        // Default exports keep their shape: no dedup field outside lineage.
        Assert.DoesNotContain("deduplicated_from", await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=jsonl"));
    }

    [Fact]
    public async Task Dedup_is_off_by_default_above_temperature_0_and_the_option_forces_it_either_way()
    {
        async Task<(JobDto Job, long Calls)> RunAsync(string prefix, string temperature, string? dedup)
        {
            var before = await ChatRequestsAsync();
            var created = await stack.Api.CreateAsync("opt.jsonl", WithDuplicates(50, 30, prefix),
                JobApiClient.Fields("deepseek-chat", more: [("temperature", temperature), ("dedup", dedup)]));
            var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
            Assert.Equal(50, job.Counters.Succeeded);
            return (job, await ChatRequestsAsync() - before);
        }

        var warm = await RunAsync("w", "0.7", null);
        Assert.Equal((50L, 0, (bool?)null), (warm.Calls, warm.Job.DeduplicatedItems, warm.Job.Dedup));
        var forced = await RunAsync("f", "0.7", "true");
        Assert.Equal((30L, 20, (bool?)true), (forced.Calls, forced.Job.DeduplicatedItems, forced.Job.Dedup));
        var off = await RunAsync("o", "0", "false");
        Assert.Equal((50L, 0, (bool?)false), (off.Calls, off.Job.DeduplicatedItems, off.Job.Dedup));
    }

    [Fact]
    public async Task A_failed_leader_fails_its_followers_and_retry_failed_reruns_it_once_for_all()
    {
        // A 404 (the provider lost the model) is not retried: every distinct request fails on its one call.
        await Configure(stack.SimPrimary, new { models = new[] { "gpt-4.1" } });
        var route = await CreateRouteAsync("dedup-primary", ("sim-primary", "deepseek-chat"));
        var before = await ChatRequestsAsync();
        var created = await stack.Api.CreateAsync("fail.jsonl", WithDuplicates(10, 6, "x"), JobApiClient.Fields(route.Name, more: ("temperature", "0")));
        var failed = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal((0, 10), (failed.Counters.Succeeded, failed.Counters.Failed));
        Assert.Equal(6, await ChatRequestsAsync() - before);
        var items = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{failed.Id}/items", StackFixture.Json))!.Items.ToDictionary(i => i.CustomId);
        for (var n = 6; n < 10; n++)
        {
            var (follower, leader) = (items[$"x{n}"], items[$"x{n - 6}"]);
            Assert.Equal(leader.Id, follower.DuplicateOf!.ItemId);
            Assert.Equal((ItemState.Failed, "http_404", leader.ErrorMessage), (follower.State, follower.ErrorCode, follower.ErrorMessage));
            Assert.Equal((0, 0m, UsageSources.Deduplicated), (follower.Attempts, follower.CostUsd ?? -1, follower.UsageSource));
        }

        await stack.ResetSimulatorsAsync();
        before = await ChatRequestsAsync();
        var retried = await (await stack.Api.PostAsJsonAsync($"/api/jobs/{failed.Id}/retry-failed", new RetryFailedRequest("http_404")))
            .Content.ReadFromJsonAsync<RetryFailedResult>(StackFixture.Json);
        Assert.Equal(10, retried!.Requeued);
        var done = await stack.Api.WaitForAsync(failed.Id, j => j.State == JobState.Completed && j.Counters.Succeeded == 10, TimeSpan.FromMinutes(2));
        Assert.Equal(0, done.Counters.Failed);
        Assert.Equal(6, await ChatRequestsAsync() - before);
        foreach (var line in await stack.Api.ExportAsync(done.Id))
        {
            var text = line.GetProperty("record").GetProperty("text").GetString()!;
            Assert.Equal(SimulatorAnswers.Answer("deepseek-chat", [("user", $"Classify: {text}")]), line.GetProperty("answer").GetString());
            Assert.Equal(JsonValueKind.Null, line.GetProperty("error").ValueKind);
        }
    }

    [Fact]
    public async Task The_preview_says_how_many_calls_dedup_saves_as_the_stored_job_does()
    {
        var content = WithDuplicates(300, 180, "p");
        var fields = JobApiClient.Fields("deepseek-chat", more: [("temperature", "0"), ("startPaused", "true")]);
        var response = await stack.Api.PostAsync("/api/jobs/preview", JobApiClient.Form("p.jsonl", content, fields));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var preview = (await response.Content.ReadFromJsonAsync<TemplatePreview>(StackFixture.Json))!;
        Assert.Equal(120, preview.Estimate.DeduplicatedCalls);
        var created = await stack.Api.CreateAsync("p.jsonl", content, fields);
        var job = await stack.Api.GetJobAsync(created.Job.Id);
        Assert.Equal((120, 120, 120), (preview.Estimate.DeduplicatedCalls, job.Estimate.DeduplicatedCalls, job.DeduplicatedItems));
        (await stack.Api.PostAsync($"/api/jobs/{job.Id}/cancel", null)).EnsureSuccessStatusCode();
        var cancelled = await stack.Api.WaitForAsync(job.Id, j => j.Counters.Cancelled == 300, TimeSpan.FromMinutes(1));
        Assert.Equal(0, cancelled.Counters.Pending);
    }

    [Fact]
    public async Task Openai_batch_lines_at_temperature_0_are_deduplicated_and_the_others_are_sent()
    {
        // Lines 0..39: temperature 0, 20 distinct requests (the same request written with other key order and 0.0 is the same);
        // lines 40..59: no temperature, 10 distinct messages repeated: each is sent.
        var lines = JobApiClient.Jsonl(60, i => i < 40
            ? i % 2 == 0
                ? new { custom_id = $"b{i}", method = "POST", url = "/v1/chat/completions",
                        body = (object)new { model = "deepseek-chat", temperature = 0, messages = new[] { new { role = "user", content = $"cold {i / 2 % 20}" } } } }
                : new { custom_id = $"b{i}", method = "POST", url = "/v1/chat/completions",
                        body = (object)new { messages = new[] { new { role = "user", content = $"cold {(i - 1) / 2 % 20}" } }, temperature = 0.0, model = "deepseek-chat" } }
            : new { custom_id = $"b{i}", method = "POST", url = "/v1/chat/completions",
                    body = (object)new { model = "deepseek-chat", messages = new[] { new { role = "user", content = $"warm {i % 10}" } } } });
        var fields = new Dictionary<string, string?> { ["format"] = "openai-batch" };
        var previewResponse = await stack.Api.PostAsync("/api/jobs/preview", JobApiClient.Form("b.jsonl", lines, fields));
        Assert.True(previewResponse.IsSuccessStatusCode, await previewResponse.Content.ReadAsStringAsync());
        var preview = (await previewResponse.Content.ReadFromJsonAsync<TemplatePreview>(StackFixture.Json))!;
        Assert.Equal(20, preview.Estimate.DeduplicatedCalls);

        var before = await ChatRequestsAsync();
        var created = await stack.Api.CreateAsync("b.jsonl", lines, fields);
        Assert.Equal(20, created.Estimate.DeduplicatedCalls);
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(60, job.Counters.Succeeded);
        Assert.Equal(40, await ChatRequestsAsync() - before);
        foreach (var line in await stack.Api.ExportAsync(job.Id, "openai"))
        {
            var i = int.Parse(line.GetProperty("custom_id").GetString()![1..]);
            var prompt = i < 40 ? $"cold {i / 2 % 20}" : $"warm {i % 10}";
            Assert.Equal(SimulatorAnswers.Answer("deepseek-chat", [("user", prompt)]),
                line.GetProperty("response").GetProperty("body").GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        }
    }

    /// <summary>Chat calls both simulators served (the default route may fall back to the second).</summary>
    private async Task<long> ChatRequestsAsync()
    {
        long total = 0;
        foreach (var simulator in new[] { stack.SimPrimary, stack.SimFallback })
        {
            using var stats = JsonDocument.Parse(await simulator.GetStringAsync("/admin/stats"));
            total += stats.RootElement.GetProperty("chatRequests").GetInt64();
        }
        return total;
    }

    private async Task<RouteDto> CreateRouteAsync(string prefix, params (string Provider, string Model)[] targets)
    {
        var name = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        var response = await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(name, targets.Select(t => new RouteTargetRequest(t.Provider, t.Model)).ToList()));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<RouteDto>(StackFixture.Json))!;
    }

    private static async Task Configure(HttpClient simulator, object settings) =>
        (await simulator.PutAsJsonAsync("/admin/config", settings)).EnsureSuccessStatusCode();
}
