using System.Net.Http.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>A provider key is never returned, logged or stored in plain text.</summary>
public sealed class SecretTests(StackFixture stack)
{
    [Fact]
    public async Task A_provider_key_never_leaves_in_clear()
    {
        await stack.ResetSimulatorsAsync();
        const string key = StackFixture.SimulatorKey;
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var name = "secret-" + Guid.NewGuid().ToString("N")[..6];
        var createResponse = await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest(name, sim + "/v1", key));
        var created = await createResponse.Content.ReadAsStringAsync();
        var provider = System.Text.Json.JsonSerializer.Deserialize<ProviderDto>(created, StackFixture.Json)!;
        Assert.True(provider.HasApiKey);
        Assert.Equal(key[^4..], provider.ApiKeyLast4);

        // Use the key for real: a connection test and a job through a route on this provider.
        var test = await (await stack.Api.PostAsync($"/api/providers/{provider.Id}/test", null)).Content.ReadFromJsonAsync<ConnectionTestResult>(StackFixture.Json);
        Assert.True(test!.Success, test.Message);
        Assert.Contains("deepseek-chat", test.Models);
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 1m, 2m))).EnsureSuccessStatusCode();
        var routeName = name + "-route";
        (await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(routeName, [new RouteTargetRequest(name, "deepseek-chat")]))).EnsureSuccessStatusCode();
        var job = await stack.Api.CreateAsync("s.jsonl", JobApiClient.Jsonl(20, i => new { id = i, text = "secret test" }), JobApiClient.Fields(routeName));
        await stack.Api.WaitForStateAsync(job.Job.Id, JobState.Completed, TimeSpan.FromMinutes(1));

        var responses = new[]
        {
            created,
            await stack.Api.GetStringAsync("/api/providers"),
            await stack.Api.GetStringAsync($"/api/providers/{provider.Id}"),
            await stack.Api.GetStringAsync($"/api/jobs/{job.Job.Id}"),
            await stack.Api.GetStringAsync($"/api/jobs/{job.Job.Id}/export"),
            await stack.Api.GetStringAsync("/api/catalog"),
        };
        Assert.All(responses, r => Assert.DoesNotContain(key, r));

        foreach (var table in new[] { "providers", "provider_models", "routes", "jobs", "items", "attempts", "data_protection_keys", "rollback_events", "files" })
        {
            var hits = await stack.ScalarAsync<long>($"SELECT count(*) FROM {table} t WHERE t::text LIKE '%' || @key || '%'", ("key", key));
            Assert.True(hits == 0, $"the key is stored in clear in {table}");
        }
        Assert.True(await stack.ScalarAsync<long>("SELECT count(*) FROM providers WHERE id = @id AND encrypted_api_key IS NOT NULL", ("id", provider.Id)) == 1);

        await Task.Delay(TimeSpan.FromSeconds(2)); // Logs arrive asynchronously.
        Assert.NotEmpty(stack.Logs);
        Assert.DoesNotContain(stack.Logs, line => line.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Testing_a_wrong_key_or_a_dead_url_says_which()
    {
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var wrong = await (await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest("wk-" + Guid.NewGuid().ToString("N")[..6], sim + "/v1", "sk-nope"))).Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json);
        var wrongTest = await (await stack.Api.PostAsync($"/api/providers/{wrong!.Id}/test", null)).Content.ReadFromJsonAsync<ConnectionTestResult>(StackFixture.Json);
        Assert.False(wrongTest!.Success);
        Assert.StartsWith("authentication failed", wrongTest.Message);

        var dead = await (await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest("dead-" + Guid.NewGuid().ToString("N")[..6], "http://127.0.0.1:9/v1", "k", ConnectTimeoutSeconds: 2))).Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json);
        var deadTest = await (await stack.Api.PostAsync($"/api/providers/{dead!.Id}/test", null)).Content.ReadFromJsonAsync<ConnectionTestResult>(StackFixture.Json);
        Assert.False(deadTest!.Success);
        Assert.StartsWith("cannot connect", deadTest.Message);
    }
}
