using System.Net;
using System.Text.Json;

namespace AspireBatch.Simulator.Tests;

public sealed class FaultTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Error500Rate_lands_near_its_rate_and_is_counted()
    {
        await using var sim = await SimulatorHost.StartAsync("Error500Rate=0.3", "Seed=1234");

        var errors = 0;
        for (var i = 0; i < 400; i++)
        {
            using var response = await sim.PostChatAsync(SimulatorHost.Chat($"item {i}"));
            if (response.StatusCode == HttpStatusCode.InternalServerError)
            {
                errors++;
                Assert.Equal("server_error", (await OpenAiApiTests.ErrorOf(response)).GetProperty("type").GetString());
            }
            else
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }

        Assert.InRange(errors, 90, 150); // 120 expected; +/- 3 standard deviations
        var stats = await sim.GetStatsAsync();
        Assert.Equal(errors, stats.Faults.Error500);
        Assert.Equal(errors, stats.StatusCodes[500]);
        Assert.Equal(400 - errors, stats.StatusCodes[200]);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_fault_sequence()
    {
        await using var first = await SimulatorHost.StartAsync("Error500Rate=0.25", "Error503Rate=0.25", "Seed=7");
        await using var second = await SimulatorHost.StartAsync("Error500Rate=0.25", "Error503Rate=0.25", "Seed=7");

        var a = await StatusesAsync(first, 40);
        var b = await StatusesAsync(second, 40);

        Assert.Equal(a, b);
        Assert.Contains(HttpStatusCode.ServiceUnavailable, a);

        // A reset restarts the seeded sequence.
        (await first.Client.PostAsync("/admin/reset", null, Ct)).Dispose();
        Assert.Equal(a, await StatusesAsync(first, 40));
    }

    [Theory]
    [InlineData("Seconds", 1200)]
    [InlineData("HttpDate", 1200)]
    [InlineData("Milliseconds", 1200)]
    public async Task Error429_asks_for_its_wait_in_the_configured_header_form(string format, int retryAfterMs)
    {
        await using var sim = await SimulatorHost.StartAsync("Error429Rate=1", $"RetryAfterMs={retryAfterMs}", $"RetryAfterFormat={format}");

        var before = DateTimeOffset.UtcNow;
        using var response = await sim.PostChatAsync(SimulatorHost.Chat("hi"));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Ct);
        switch (format)
        {
            case "Seconds":
                Assert.Equal(TimeSpan.FromSeconds(2), response.Headers.RetryAfter?.Delta);
                Assert.Contains("try again in 2s", body);
                break;
            case "HttpDate":
                var at = response.Headers.RetryAfter?.Date;
                Assert.NotNull(at);
                Assert.InRange(at.Value - before, TimeSpan.FromMilliseconds(retryAfterMs), TimeSpan.FromMilliseconds(retryAfterMs + 1000));
                break;
            default:
                Assert.Null(response.Headers.RetryAfter);
                Assert.Equal("1200", response.Headers.GetValues("retry-after-ms").Single());
                Assert.Contains("try again in 1.2s", body);
                break;
        }
        Assert.Equal(1, (await sim.GetStatsAsync()).Faults.Error429);
    }

    [Fact]
    public async Task Error503_carries_retry_after_one_second()
    {
        await using var sim = await SimulatorHost.StartAsync("Error503Rate=1");

        using var response = await sim.PostChatAsync(SimulatorHost.Chat("hi"));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), response.Headers.RetryAfter?.Delta);
        Assert.Equal(1, (await sim.GetStatsAsync()).Faults.Error503);
    }

    [Fact]
    public async Task MalformedJsonRate_returns_200_with_a_truncated_body()
    {
        await using var sim = await SimulatorHost.StartAsync("MalformedJsonRate=1");

        using var response = await sim.PostChatAsync(SimulatorHost.Chat("hi"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.StartsWith("{\"id\":\"chatcmpl-", body);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(body));
        Assert.Equal(1, (await sim.GetStatsAsync()).Faults.MalformedJson);
    }

    [Fact]
    public async Task ResetRate_aborts_the_connection()
    {
        await using var sim = await SimulatorHost.StartAsync("ResetRate=1");

        await Assert.ThrowsAsync<HttpRequestException>(() => sim.PostChatAsync(SimulatorHost.Chat("hi")));

        // The client can see the reset before the server has finished its bookkeeping.
        var stats = await WaitForAsync(sim, s => s.InFlight == 0 && s.Aborted > 0);
        Assert.Equal(1, stats.Faults.Reset);
        Assert.Equal(1, stats.Aborted);
    }

    [Fact]
    public async Task TimeoutRate_hangs_until_the_client_gives_up()
    {
        await using var sim = await SimulatorHost.StartAsync("TimeoutRate=1", "TimeoutHangMs=60000");
        using var giveUp = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        giveUp.CancelAfter(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            sim.Client.PostAsync("/v1/chat/completions", System.Net.Http.Json.JsonContent.Create(SimulatorHost.Chat("hi")), giveUp.Token));

        var stats = await WaitForAsync(sim, s => s.InFlight == 0 && s.Aborted > 0);
        Assert.Equal(1, stats.Faults.Timeout);
        Assert.Equal(1, stats.Aborted);
    }

    [Fact]
    public async Task A_finished_hang_answers_504()
    {
        await using var sim = await SimulatorHost.StartAsync("TimeoutRate=1", "TimeoutHangMs=10");

        using var response = await sim.PostChatAsync(SimulatorHost.Chat("hi"));

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
    }

    private static async Task<List<HttpStatusCode>> StatusesAsync(SimulatorHost sim, int count)
    {
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < count; i++)
        {
            using var response = await sim.PostChatAsync(SimulatorHost.Chat($"item {i}"));
            statuses.Add(response.StatusCode);
        }

        return statuses;
    }

    private static async Task<Contracts.SimulatorStats> WaitForAsync(SimulatorHost sim, Func<Contracts.SimulatorStats, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var stats = await sim.GetStatsAsync();
            if (condition(stats) || DateTime.UtcNow > deadline)
            {
                return stats;
            }

            await Task.Delay(50, Ct);
        }
    }
}
