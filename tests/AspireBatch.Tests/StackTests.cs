using System.Net;
using Aspire.Hosting.Testing;
using System.Net.Http.Json;
using AspireBatch.Contracts;
using StackExchange.Redis;

namespace AspireBatch.Tests;

/// <summary>The whole stack comes up healthy and its parts reach Postgres and Redis.</summary>
public sealed class StackTests(StackFixture stack)
{
    [Fact]
    public async Task Every_resource_is_healthy()
    {
        // The workers were healthy when the stack started (the fixture waited for them); a later test kills one
        // replica on purpose, so here they are checked only when no test has done so yet.
        Assert.Contains("worker", stack.HealthyAtStart);
        foreach (var resource in new[] { "api", "dashboard", "sim-primary", "sim-fallback", "postgres", "redis-server" })
        {
            await stack.App.ResourceNotifications.WaitForResourceHealthyAsync(resource).WaitAsync(TimeSpan.FromMinutes(2));
        }
    }

    [Fact]
    public async Task Api_lists_the_seeded_providers_from_postgres()
    {
        var providers = await stack.Api.GetFromJsonAsync<List<ProviderDto>>("/api/providers", StackFixture.Json);
        Assert.Contains(providers!, p => p.Name == "sim-primary" && p.Models.Any(m => m.Name == "deepseek-chat" && m.InputPricePerMTok == 0.42m));
        Assert.Contains(providers!, p => p.Name == "sim-fallback");
        var inDatabase = await stack.ScalarAsync<long>("SELECT count(*) FROM providers WHERE name IN ('sim-primary', 'sim-fallback')");
        Assert.Equal(2, inDatabase);
    }

    [Fact]
    public async Task Api_refuses_calls_without_the_key()
    {
        using var anonymous = stack.App.CreateHttpClient("api");
        var response = await anonymous.GetAsync("/api/providers");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/openapi/v1.json")).StatusCode);
    }

    [Fact]
    public async Task Redis_round_trips()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(stack.RedisConnectionString);
        var key = "test:" + Guid.NewGuid();
        await redis.GetDatabase().StringSetAsync(key, "value", TimeSpan.FromMinutes(1));
        Assert.Equal("value", (string?)await redis.GetDatabase().StringGetAsync(key));
    }

    [Fact]
    public async Task Catalog_has_the_seed_aliases_and_default_route()
    {
        var catalog = await stack.Api.GetFromJsonAsync<CatalogDto>("/api/catalog", StackFixture.Json);
        Assert.Contains(catalog!.Aliases, a => a.Alias == "gpt-4" && a.ModelName == "gpt-4.1");
        Assert.Contains(catalog.Aliases, a => a.Alias == "gpt-3.5-turbo" && a.ModelName == "deepseek-chat");
        Assert.Contains("default", catalog.Routes);
        Assert.Contains(catalog.Models, m => m.Name == "claude-sonnet-4-5" && m.InputPricePerMTok == 15m);
    }
}
