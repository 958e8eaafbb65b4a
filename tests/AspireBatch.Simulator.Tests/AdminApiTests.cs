using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace AspireBatch.Simulator.Tests;

public sealed class AdminApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Config_shows_the_settings_without_the_key()
    {
        await using var sim = await SimulatorHost.StartAsync("RequestsPerMinute=42");

        using var json = JsonDocument.Parse(await sim.Client.GetStringAsync("/admin/config", Ct));

        Assert.Equal(42, json.RootElement.GetProperty("requestsPerMinute").GetInt32());
        Assert.Equal(60000, json.RootElement.GetProperty("timeoutHangMs").GetInt32());
        Assert.Equal(5, json.RootElement.GetProperty("models").GetArrayLength());
        Assert.False(json.RootElement.TryGetProperty("apiKey", out _));
    }

    [Fact]
    public async Task A_partial_update_changes_only_the_fields_present_and_takes_effect()
    {
        await using var sim = await SimulatorHost.StartAsync("TokensPerMinute=1000");

        using var response = await sim.PutConfigAsync(new { requestsPerMinute = 1, Error503Rate = 0.0 });

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var config = await response.Content.ReadFromJsonAsync<SimulatorOptions>(Ct);
        Assert.Equal(1, config!.RequestsPerMinute);
        Assert.Equal(1000, config.TokensPerMinute);
        Assert.Equal(0, config.LatencyMs);
        (await sim.PostChatAsync(SimulatorHost.Chat("a"))).Dispose();
        using var limited = await sim.PostChatAsync(SimulatorHost.Chat("b"));
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
    }

    [Theory]
    [InlineData("""{"error500Rate":1.5}""", "error500Rate")]
    [InlineData("""{"resetRate":-0.1}""", "resetRate")]
    [InlineData("""{"latencyMs":-1}""", "latencyMs")]
    [InlineData("""{"requestsPerMinute":-5}""", "requestsPerMinute")]
    [InlineData("""{"models":[]}""", "models")]
    [InlineData("""{"latencyMS2":10}""", "body")]
    [InlineData("""{"latencyMs":"fast"}""", "body")]
    public async Task An_invalid_update_is_a_400_validation_problem_and_changes_nothing(string body, string field)
    {
        await using var sim = await SimulatorHost.StartAsync();
        var before = await sim.Client.GetStringAsync("/admin/config", Ct);

        using var response = await sim.Client.PutAsync("/admin/config", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), problem.RootElement.ToString());
        Assert.Equal(before, await sim.Client.GetStringAsync("/admin/config", Ct));
    }

    [Fact]
    public async Task Reset_zeroes_the_counters_and_the_rate_windows()
    {
        await using var sim = await SimulatorHost.StartAsync("RequestsPerMinute=2");
        for (var i = 0; i < 3; i++)
        {
            (await sim.PostChatAsync(SimulatorHost.Chat("hi"))).Dispose();
        }

        var before = await sim.GetStatsAsync();
        Assert.Equal(3, before.TotalRequests);
        Assert.Equal(1, before.RateLimited);

        using (var reset = await sim.Client.PostAsync("/admin/reset", null, Ct))
        {
            Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        }

        var after = await sim.GetStatsAsync();
        Assert.Equal(0, after.TotalRequests);
        Assert.Equal(0, after.RateLimited);
        Assert.Empty(after.StatusCodes);
        Assert.Equal(0, after.PromptTokens);
        Assert.Equal(0, after.CompletionTokens);
        Assert.Equal(0, after.Faults.Total);
        Assert.Equal(0, after.MaxInFlight);
        using var admitted = await sim.PostChatAsync(SimulatorHost.Chat("hi"));
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
    }
}
