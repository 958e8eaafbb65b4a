using System.Collections.Concurrent;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;
using StackExchange.Redis;

namespace AspireBatch.Tests;

/// <summary>Every change an open Dashboard page shows is announced on the live channel, by the one publisher.</summary>
public sealed class LiveEventTests(StackFixture stack)
{
    [Fact]
    public async Task Provider_model_alias_route_and_job_changes_are_announced()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(stack.RedisConnectionString);
        var heard = new ConcurrentQueue<LiveEvent>();
        await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(LiveEvent.Channel),
            (_, message) => heard.Enqueue(JsonSerializer.Deserialize<LiveEvent>(message.ToString())!));
        var suffix = Guid.NewGuid().ToString("N")[..6];

        var provider = await Created<ProviderDto>(await stack.Api.PostAsJsonAsync("/api/providers",
            new ProviderRequest("live-" + suffix, stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/') + "/v1", StackFixture.SimulatorKey)));
        await HeardAsync(heard, e => e.Kind == LiveEvent.Provider, "a created provider");

        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.27m, 1.1m))).EnsureSuccessStatusCode();
        await HeardAsync(heard, e => e.Kind == LiveEvent.Catalog, "a changed price");

        (await stack.Api.PutAsJsonAsync($"/api/aliases/live-{suffix}", new ModelAliasDto($"live-{suffix}", "deepseek-chat"))).EnsureSuccessStatusCode();
        await HeardAsync(heard, e => e.Kind == LiveEvent.Catalog, "a new alias");

        // A connection test changes nothing, and a refused change announces nothing.
        (await stack.Api.PostAsync($"/api/providers/{provider.Id}/test", null)).EnsureSuccessStatusCode();
        var refused = await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest("", "not a url", null));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);
        await Task.Delay(500);
        Assert.DoesNotContain(heard, e => e.Kind is LiveEvent.Provider or LiveEvent.Catalog);

        var route = await Created<RouteDto>(await stack.Api.PostAsJsonAsync("/api/routes",
            new RouteRequest("live-route-" + suffix, [new RouteTargetRequest(provider.Name, "deepseek-chat")])));
        await HeardAsync(heard, e => e.Kind == LiveEvent.Route, "a created route");
        (await stack.Api.DeleteAsync($"/api/routes/{route.Id}")).EnsureSuccessStatusCode();
        await HeardAsync(heard, e => e.Kind == LiveEvent.Route && e.RouteId == route.Id, "a deleted route");

        var created = await stack.Api.CreateAsync("live.jsonl", JobApiClient.Jsonl(3, i => new { id = i, text = $"live {i}" }), JobApiClient.Fields("deepseek-chat"));
        await HeardAsync(heard, e => e.Kind == LiveEvent.Job && e.JobId == created.Job.Id, "a created job");
        await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(1));
        await HeardAsync(heard, e => e.Kind == LiveEvent.Job && e.JobId == created.Job.Id, "a worker's progress");
    }

    private static async Task<T> Created<T>(HttpResponseMessage response)
    {
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<T>(StackFixture.Json))!;
    }

    /// <summary>Waits for a matching event, then forgets everything heard so far.</summary>
    private static async Task HeardAsync(ConcurrentQueue<LiveEvent> heard, Func<LiveEvent, bool> match, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!heard.Any(match))
        {
            Assert.True(DateTime.UtcNow < deadline, $"nothing announced {what}; heard: {string.Join(", ", heard.Select(e => e.Kind))}");
            await Task.Delay(50);
        }
        heard.Clear();
    }
}
