using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>A provider with no configured limit is paced to the limit it states in its rate-limit headers.</summary>
public sealed class LearnedLimitTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task A_provider_without_a_limit_is_paced_to_the_limit_its_headers_state()
    {
        const int limit = 600;
        const int items = 650;
        var sim = stack.SimFallback.BaseAddress!.ToString().TrimEnd('/');
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var created = await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest("learning-" + suffix, sim + "/v1", StackFixture.SimulatorKey));
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var provider = (await created.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        Assert.Null(provider.RequestsPerMinute);
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.42m, 0.42m))).EnsureSuccessStatusCode();
        // The simulator enforces 600 RPM over a sliding minute and says so in x-ratelimit-limit-requests.
        (await stack.SimFallback.PutAsJsonAsync("/admin/config", new { requestsPerMinute = limit, latencyMs = 20 })).EnsureSuccessStatusCode();
        (await stack.SimFallback.PostAsync("/admin/reset", null)).EnsureSuccessStatusCode();
        var route = await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest("learning-" + suffix, [new RouteTargetRequest(provider.Name, "deepseek-chat")], new RouteThresholds(AutoRollback: false)));
        Assert.True(route.IsSuccessStatusCode, await route.Content.ReadAsStringAsync());

        // More calls than the limit allows in a minute: the unpaced calls of the first moments are still in the
        // provider's window when the minute ends, which is where 429s would come if they were not paid for.
        var job = await stack.Api.CreateAsync("learn.jsonl", JobApiClient.Jsonl(items, i => new { id = i, text = $"learn{i}" }), JobApiClient.Fields("learning-" + suffix));
        var done = await stack.Api.WaitForStateAsync(job.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(items, done.Counters.Succeeded);

        var health = (await stack.Api.GetFromJsonAsync<List<ProviderHealthDto>>("/api/providers/health", StackFixture.Json))!;
        var learned = Assert.Single(health.Single(h => h.ProviderId == provider.Id).LearnedLimits);
        Assert.Equal("deepseek-chat", learned.Model);
        Assert.Equal(limit, learned.RequestsPerMinute);
        Assert.Null(learned.TokensPerMinute);
        Assert.Equal(LearnedLimitDto.FromHeaders, learned.Source);
        Assert.True(DateTimeOffset.UtcNow - learned.LearnedAt < TimeSpan.FromMinutes(3), $"learned at {learned.LearnedAt}");

        using var stats = JsonDocument.Parse(await stack.SimFallback.GetStringAsync("/admin/stats"));
        var calls = stats.RootElement.GetProperty("totalRequests").GetInt64();
        var refused = stats.RootElement.GetProperty("rateLimited").GetInt64();
        Assert.True(refused < calls * 0.03, $"{refused} of {calls} calls answered 429");
        // Paced, not merely retried: 650 calls within a 600/min sliding window take more than a minute.
        var span = await stack.ScalarAsync<double>(
            "SELECT extract(epoch FROM max(started_at) - min(started_at)) FROM attempts WHERE job_id = @job AND status_code = 200", ("job", done.Id));
        Assert.True(span >= 58, $"the calls took {span:0.0} s");
        // ...and not far slower than the limit: the stated limit, not something lower, paced them.
        Assert.True(span < 80, $"the calls took {span:0.0} s, far slower than {limit}/min");
    }
}
