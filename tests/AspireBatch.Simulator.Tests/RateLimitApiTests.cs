using System.Net;
using AspireBatch.Simulator.Apis;

namespace AspireBatch.Simulator.Tests;

public sealed class RateLimitApiTests
{
    [Fact]
    public async Task Over_the_RPM_limit_is_429_with_retry_headers_and_counted()
    {
        await using var sim = await SimulatorHost.StartAsync("RequestsPerMinute=5");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 8; i++)
        {
            using var response = await sim.PostChatAsync(SimulatorHost.Chat($"question {i}"));
            statuses.Add(response.StatusCode);
            Assert.Equal("5", Header(response, "x-ratelimit-limit-requests"));
            Assert.Matches(@"^(\d+m)?(\d+(\.\d+)?s|\d+ms)$", Header(response, "x-ratelimit-reset-requests"));
            if (response.StatusCode != HttpStatusCode.TooManyRequests)
            {
                Assert.Equal((4 - i).ToString(), Header(response, "x-ratelimit-remaining-requests"));
                continue;
            }

            Assert.Equal("0", Header(response, "x-ratelimit-remaining-requests"));
            Assert.InRange(int.Parse(Header(response, "Retry-After")), 1, 60);
            Assert.InRange(int.Parse(Header(response, "retry-after-ms")), 1, 60_000);
            var error = await OpenAiApiTests.ErrorOf(response);
            Assert.StartsWith("Rate limit reached", error.GetProperty("message").GetString());
            Assert.Equal("requests", error.GetProperty("type").GetString());
            Assert.Equal("rate_limit_exceeded", error.GetProperty("code").GetString());
        }

        Assert.Equal([.. Enumerable.Repeat(HttpStatusCode.OK, 5), .. Enumerable.Repeat(HttpStatusCode.TooManyRequests, 3)], statuses);
        var stats = await sim.GetStatsAsync();
        Assert.Equal(8, stats.TotalRequests);
        Assert.Equal(3, stats.RateLimited);
        Assert.Equal(3, stats.RateLimitedByRequests);
        Assert.Equal(3, stats.StatusCodes[429]);
        Assert.Equal(5, stats.StatusCodes[200]);
    }

    [Fact]
    public async Task Over_the_TPM_limit_is_429_of_type_tokens()
    {
        // "hi" costs 5 prompt tokens and 3 completion tokens: 8 per request, so 20 TPM admits two.
        await using var sim = await SimulatorHost.StartAsync("TokensPerMinute=20");

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await sim.PostChatAsync(SimulatorHost.Chat("hi"));
            statuses.Add(response.StatusCode);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.Equal("tokens", (await OpenAiApiTests.ErrorOf(response)).GetProperty("type").GetString());
                Assert.Equal("4", Header(response, "x-ratelimit-remaining-tokens"));
                var retryAfterMs = int.Parse(Header(response, "retry-after-ms"));
                Assert.Equal(OpenAiApi.FormatDuration(TimeSpan.FromMilliseconds(retryAfterMs)), Header(response, "x-ratelimit-reset-tokens"));
                Assert.InRange(int.Parse(Header(response, "Retry-After")), 1, 60);
            }
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(1, (await sim.GetStatsAsync()).RateLimitedByTokens);
    }

    private static string Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : throw new Xunit.Sdk.XunitException($"missing header {name}");
}
