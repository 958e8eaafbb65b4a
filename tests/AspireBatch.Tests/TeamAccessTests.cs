using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>
/// Keys per team: created by an admin (secret shown once, stored hashed), scoped, limited per minute and by a monthly
/// budget, revoked at once, and blind to other teams' work: every route of the OpenAPI document that names a job,
/// rehearsal, file or batch answers another team's key 404.
/// </summary>
public sealed class TeamAccessTests(StackFixture stack) : IAsyncLifetime
{
    private readonly TeamKeys _keys = new(stack);

    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync()
    {
        _keys.Dispose();
        await stack.ResetSimulatorsAsync();
    }

    [Fact]
    public async Task Another_teams_key_gets_404_on_every_route_that_names_a_job_rehearsal_file_or_batch()
    {
        var (_, owner) = await _keys.CreateAsync(TeamKeys.Team("owner"), [ApiScopes.Jobs, ApiScopes.Batches]);
        var (_, stranger) = await _keys.CreateAsync(TeamKeys.Team("stranger"), [ApiScopes.Jobs, ApiScopes.Batches]);

        var job = await owner.CreateAsync("t.jsonl", JobApiClient.Jsonl(20, i => new { id = $"t{i}", text = $"team text {i}" }), JobApiClient.Fields("deepseek-chat"));
        Assert.Equal(JobState.Completed, (await owner.WaitForStateAsync(job.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2))).State);
        var itemId = (await owner.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Job.Id}/items?pageSize=1", StackFixture.Json))!.Items[0].Id;
        var rehearsal = await owner.PostAsJsonAsync("/api/rehearsals", new RehearsalRequest(job.Job.Id, new SampleRequest(5),
            [new RehearsalTargetRequest(Provider: "sim-primary", Model: "deepseek-chat", Baseline: true), new RehearsalTargetRequest(Provider: "sim-fallback", Model: "deepseek-chat")]), StackFixture.Json);
        Assert.True(rehearsal.IsSuccessStatusCode, await rehearsal.Content.ReadAsStringAsync());
        var rehearsalId = (await rehearsal.Content.ReadFromJsonAsync<RehearsalDto>(StackFixture.Json))!.Id;
        var upload = new MultipartFormDataContent { { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(OpenAiSdk.BatchLines(3, "deepseek-chat"))), "file", "in.jsonl" } };
        var file = JsonDocument.Parse(await (await owner.PostAsync("/v1/files", upload)).Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var batch = JsonDocument.Parse(await (await owner.PostAsync("/v1/batches", JsonContent.Create(new { input_file_id = file, endpoint = "/v1/chat/completions", completion_window = "24h" })))
            .Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;

        // Every path of the Api's own OpenAPI document that names one of them, with every method it has.
        using var document = JsonDocument.Parse(await stack.Api.GetStringAsync("/openapi/v1.json"));
        var checkedRoutes = 0;
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject().Where(p => p.Name.Contains("{id}")))
        {
            var id = path.Name switch
            {
                var p when p.StartsWith("/api/jobs/") => job.Job.Id.ToString(),
                var p when p.StartsWith("/api/rehearsals/") => rehearsalId.ToString(),
                var p when p.StartsWith("/v1/files/") => file,
                var p when p.StartsWith("/v1/batches/") => batch,
                _ => null,
            };
            if (id is null)
            {
                continue;
            }
            var url = path.Name.Replace("{id}", id).Replace("{itemId}", itemId.ToString()).Replace("{field}", "answer.sentiment");
            foreach (var method in path.Value.EnumerateObject().Select(m => m.Name.ToUpperInvariant()))
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), url);
                if (method is "POST" or "PUT")
                {
                    request.Content = JsonContent.Create(new { });
                }
                using var response = await stranger.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{method} {path.Name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                checkedRoutes++;
            }
        }
        Assert.True(checkedRoutes >= 20, $"only {checkedRoutes} routes name a job, rehearsal, file or batch");
        // Under /v1 the 404 is OpenAI's.
        var notFound = await stranger.GetAsync($"/v1/batches/{batch}");
        Assert.Equal($"No such Batch object: {batch}", JsonDocument.Parse(await notFound.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("message").GetString());

        // Lists leave other teams out; the owner and the admin key still see it.
        Assert.DoesNotContain((await stranger.GetFromJsonAsync<PagedResult<JobDto>>("/api/jobs?pageSize=200", StackFixture.Json))!.Items, j => j.Id == job.Job.Id);
        Assert.Contains((await owner.GetFromJsonAsync<PagedResult<JobDto>>("/api/jobs?pageSize=200", StackFixture.Json))!.Items, j => j.Id == job.Job.Id);
        Assert.Contains((await stack.Api.GetFromJsonAsync<PagedResult<JobDto>>("/api/jobs?pageSize=200", StackFixture.Json))!.Items, j => j.Id == job.Job.Id);
        Assert.DoesNotContain(file, await stranger.GetStringAsync("/v1/files"));
        Assert.Contains(file, await owner.GetStringAsync("/v1/files"));
        Assert.DoesNotContain(batch, await stranger.GetStringAsync("/v1/batches"));
        Assert.DoesNotContain((await stranger.GetFromJsonAsync<List<RehearsalSummaryDto>>("/api/rehearsals", StackFixture.Json))!, r => r.Id == rehearsalId);
        // A stranger cannot start a batch on the owner's file, nor rehearse the owner's job.
        var foreignBatch = await stranger.PostAsync("/v1/batches", JsonContent.Create(new { input_file_id = file, endpoint = "/v1/chat/completions", completion_window = "24h" }));
        Assert.Equal(HttpStatusCode.NotFound, foreignBatch.StatusCode);
        var foreignRehearsal = await stranger.PostAsJsonAsync("/api/rehearsals", new RehearsalRequest(job.Job.Id, new SampleRequest(5),
            [new RehearsalTargetRequest(Provider: "sim-primary", Model: "deepseek-chat", Baseline: true), new RehearsalTargetRequest(Provider: "sim-fallback", Model: "deepseek-chat")]), StackFixture.Json);
        Assert.Equal(HttpStatusCode.BadRequest, foreignRehearsal.StatusCode);
        Assert.Contains("does not exist", await foreignRehearsal.Content.ReadAsStringAsync());
        // The stranger's usage figures hold none of the owner's calls.
        var usage = (await stranger.GetFromJsonAsync<List<UsageByKey>>("/api/stats/usage?groupBy=model", StackFixture.Json))!;
        Assert.Empty(usage);
    }

    [Fact]
    public async Task Scopes_limit_what_a_key_may_do_and_keys_are_stored_hashed_shown_once_and_revoked_at_once()
    {
        var team = TeamKeys.Team("scopes");
        var (readOnly, reader) = await _keys.CreateAsync(team, [ApiScopes.ReadOnly]);
        var (batchesKey, batchesOnly) = await _keys.CreateAsync(team, [ApiScopes.Batches]);
        Assert.StartsWith("abk_", readOnly.Secret);
        Assert.StartsWith(readOnly.Key.Prefix, readOnly.Secret);

        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/api/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await reader.GetAsync("/v1/batches")).StatusCode);
        var refused = await reader.PostAsync("/api/jobs", JobApiClient.Form("a.jsonl", JobApiClient.Jsonl(1, i => new { id = i, text = "x" }), JobApiClient.Fields("deepseek-chat")));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("scopes", JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await batchesOnly.GetAsync("/api/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await batchesOnly.PostAsJsonAsync("/api/keys", new CreateApiKeyRequest("x", "x", [ApiScopes.Admin]))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await batchesOnly.PostAsJsonAsync("/api/providers", new { name = "x", baseUrl = "http://x" })).StatusCode);
        // Reading providers and routes is for every key: that is how a team picks a model.
        Assert.Equal(HttpStatusCode.OK, (await batchesOnly.GetAsync("/api/providers")).StatusCode);

        // The database holds a hash, never the secret; the list never shows it either.
        Assert.Equal(0L, await stack.ScalarAsync<long>("SELECT count(*) FROM api_keys WHERE encode(hash, 'escape') LIKE '%' || @s || '%' OR name LIKE '%abk_%'", ("s", readOnly.Secret)));
        Assert.Equal(32, await stack.ScalarAsync<int>("SELECT octet_length(hash) FROM api_keys WHERE id = @id", ("id", readOnly.Key.Id)));
        var listed = await stack.Api.GetStringAsync("/api/keys");
        Assert.DoesNotContain(readOnly.Secret, listed);
        var key = (await stack.Api.GetFromJsonAsync<List<ApiKeyDto>>("/api/keys", StackFixture.Json))!.Single(k => k.Id == readOnly.Key.Id);
        Assert.NotNull(key.LastUsedAt);

        // Revoked: the next request is refused.
        Assert.Equal(HttpStatusCode.NoContent, (await stack.Api.DeleteAsync($"/api/keys/{batchesKey.Key.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await batchesOnly.GetAsync("/v1/batches")).StatusCode);
        Assert.NotNull((await stack.Api.GetFromJsonAsync<List<ApiKeyDto>>("/api/keys", StackFixture.Json))!.Single(k => k.Id == batchesKey.Key.Id).RevokedAt);

        // Bad requests change nothing.
        var count = await stack.ScalarAsync<long>("SELECT count(*) FROM api_keys");
        foreach (var bad in new[] { new CreateApiKeyRequest("", "t", [ApiScopes.Jobs]), new CreateApiKeyRequest("n", "Bad Team", [ApiScopes.Jobs]),
                     new CreateApiKeyRequest("n", "t", []), new CreateApiKeyRequest("n", "t", ["everything"]), new CreateApiKeyRequest("n", "t", [ApiScopes.Jobs], 0) })
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await stack.Api.PostAsJsonAsync("/api/keys", bad, StackFixture.Json)).StatusCode);
        }
        Assert.Equal(count, await stack.ScalarAsync<long>("SELECT count(*) FROM api_keys"));
    }

    [Fact]
    public async Task A_keys_requests_per_minute_and_monthly_budget_are_enforced()
    {
        var (_, limited) = await _keys.CreateAsync(TeamKeys.Team("rpm"), [ApiScopes.Jobs], rpm: 3);
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add((await limited.GetAsync("/api/jobs?pageSize=1")).StatusCode);
        }
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        var rejected = await limited.GetAsync("/api/jobs");
        Assert.NotNull(rejected.Headers.RetryAfter);

        // A budget far below one job's cost: the running job pauses once its cost passes it, and the next job is refused.
        var (budgetKey, spender) = await _keys.CreateAsync(TeamKeys.Team("budget"), [ApiScopes.Jobs, ApiScopes.Batches], budget: 0.000001m);
        // Slow answers, so most records are still waiting when the first results pass the budget.
        await stack.ResetSimulatorsAsync(primaryLatencyMs: 300, fallbackLatencyMs: 300);
        var created = await spender.CreateAsync("b.jsonl", JobApiClient.Jsonl(400, i => new { id = $"b{i}", text = $"budget text {i}" }), JobApiClient.Fields("deepseek-chat"));
        var paused = await spender.WaitForAsync(created.Job.Id, j => j.State == JobState.Paused, TimeSpan.FromMinutes(2));
        Assert.Contains("monthly budget", paused.StateReason);
        Assert.True(paused.Counters.Done < 400, $"{paused.Counters.Done} of 400 done");
        var refused = await spender.PostAsync("/api/jobs", JobApiClient.Form("c.jsonl", JobApiClient.Jsonl(2, i => new { id = i, text = "x" }), JobApiClient.Fields("deepseek-chat")));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Contains("monthly budget", await refused.Content.ReadAsStringAsync());
        var upload = new MultipartFormDataContent { { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(OpenAiSdk.BatchLines(2, "deepseek-chat"))), "file", "in.jsonl" } };
        var file = JsonDocument.Parse(await (await spender.PostAsync("/v1/files", upload)).Content.ReadAsStringAsync()).RootElement.GetProperty("id").GetString()!;
        var batchRefused = await spender.PostAsync("/v1/batches", JsonContent.Create(new { input_file_id = file, endpoint = "/v1/chat/completions", completion_window = "24h" }));
        Assert.Equal(HttpStatusCode.TooManyRequests, batchRefused.StatusCode);
        Assert.Equal("insufficient_quota", JsonDocument.Parse(await batchRefused.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
        var key = (await stack.Api.GetFromJsonAsync<List<ApiKeyDto>>("/api/keys", StackFixture.Json))!.Single(k => k.Id == budgetKey.Key.Id);
        Assert.True(key.SpentThisMonthUsd >= 0.000001m);
        // Cancel it so it does not go on after a resume elsewhere.
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/cancel", null)).EnsureSuccessStatusCode();
    }
}
