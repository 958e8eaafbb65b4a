using System.Net.Http.Headers;
using AspireBatch.Worker.Limits;

namespace AspireBatch.UnitTests;

/// <summary>The rate-limit headers providers send, as their docs and real answers show them.</summary>
public sealed class ProviderRateHeadersTests
{
    private static readonly DateTimeOffset Now = new(2025, 8, 21, 12, 40, 30, TimeSpan.Zero);

    private static HttpResponseHeaders Headers(params (string Name, string Value)[] headers)
    {
        var response = new HttpResponseMessage();
        foreach (var (name, value) in headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }
        return response.Headers;
    }

    [Fact]
    public void No_rate_limit_header_gives_null() =>
        Assert.Null(ProviderRateHeaders.Parse(Headers(("retry-after", "1"), ("x-request-id", "req_1")), Now));

    [Fact]
    public void OpenAi_headers_give_limits_remaining_and_resets()
    {
        var parsed = ProviderRateHeaders.Parse(Headers(
            ("x-ratelimit-limit-requests", "5000"), ("x-ratelimit-remaining-requests", "4999"), ("x-ratelimit-reset-requests", "12ms"),
            ("x-ratelimit-limit-tokens", "160000"), ("x-ratelimit-remaining-tokens", "159976"), ("x-ratelimit-reset-tokens", "6m0s")), Now)!;
        Assert.Equal(RateHeaderStyle.OpenAi, parsed.Style);
        Assert.Equal(5000, parsed.RequestsLimit);
        Assert.Equal(4999, parsed.RequestsRemaining);
        Assert.Equal(TimeSpan.FromMilliseconds(12), parsed.RequestsReset);
        Assert.Equal(160000, parsed.TokensLimit);
        Assert.Equal(159976, parsed.TokensRemaining);
        Assert.Equal(TimeSpan.FromMinutes(6), parsed.TokensReset);
        Assert.Equal(5000, parsed.RequestsPerMinute);
        // A reset six minutes ahead cannot belong to a per-minute window.
        Assert.Null(parsed.TokensPerMinute);
    }

    [Theory]
    [InlineData("1s", 1000)]
    [InlineData("6m0s", 360_000)]
    [InlineData("20ms", 20)]
    [InlineData("1m30.5s", 90_500)]
    [InlineData("2m59.56s", 179_560)]
    [InlineData("1h2m3s", 3_723_000)]
    [InlineData("500us", 0.5)]
    [InlineData("0s", 0)]
    [InlineData("7.66s", 7660)]
    [InlineData("2", 2000)]
    [InlineData("0.25", 250)]
    public void Durations_read_as_providers_write_them(string value, double milliseconds) =>
        Assert.Equal(milliseconds, ProviderRateHeaders.Duration(value)!.Value.TotalMilliseconds, 6);

    [Theory]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("5 minutes")]
    [InlineData("1x")]
    [InlineData("s")]
    [InlineData("-1")]
    public void Unreadable_durations_are_null(string value) => Assert.Null(ProviderRateHeaders.Duration(value));

    [Fact]
    public void Groq_requests_per_day_are_not_taken_as_per_minute()
    {
        // Groq: x-ratelimit-limit-requests is RPD (its reset reads minutes ahead), x-ratelimit-limit-tokens is TPM.
        var parsed = ProviderRateHeaders.Parse(Headers(
            ("x-ratelimit-limit-requests", "14400"), ("x-ratelimit-remaining-requests", "14370"), ("x-ratelimit-reset-requests", "2m59.56s"),
            ("x-ratelimit-limit-tokens", "18000"), ("x-ratelimit-remaining-tokens", "17997"), ("x-ratelimit-reset-tokens", "7.66s")), Now)!;
        Assert.Equal(14400, parsed.RequestsLimit);
        Assert.Null(parsed.RequestsPerMinute);
        Assert.Equal(18000, parsed.TokensPerMinute);
        Assert.Equal(TimeSpan.FromMilliseconds(7660), parsed.TokensReset);
    }

    [Fact]
    public void Headers_without_resets_are_per_minute()
    {
        // The simulator (and some OpenAI-compatible servers) send only limit and remaining.
        var parsed = ProviderRateHeaders.Parse(Headers(("x-ratelimit-limit-requests", "3000"), ("x-ratelimit-remaining-requests", "2950")), Now)!;
        Assert.Equal(3000, parsed.RequestsPerMinute);
        Assert.Equal(2950, parsed.RequestsRemaining);
        Assert.Null(parsed.RequestsReset);
        Assert.Null(parsed.TokensLimit);
        Assert.Null(parsed.TokensPerMinute);
    }

    [Fact]
    public void Anthropic_headers_take_the_combined_tokens_limit_and_rfc3339_resets()
    {
        var parsed = ProviderRateHeaders.Parse(Headers(
            ("anthropic-ratelimit-requests-limit", "1000"), ("anthropic-ratelimit-requests-remaining", "999"),
            ("anthropic-ratelimit-requests-reset", "2025-08-21T12:40:59Z"),
            ("anthropic-ratelimit-input-tokens-limit", "80000"), ("anthropic-ratelimit-input-tokens-remaining", "80000"),
            ("anthropic-ratelimit-input-tokens-reset", "2025-08-21T12:40:59Z"),
            ("anthropic-ratelimit-output-tokens-limit", "16000"), ("anthropic-ratelimit-output-tokens-remaining", "16000"),
            ("anthropic-ratelimit-output-tokens-reset", "2025-08-21T12:41:00Z"),
            ("anthropic-ratelimit-tokens-limit", "96000"), ("anthropic-ratelimit-tokens-remaining", "95000"),
            ("anthropic-ratelimit-tokens-reset", "2025-08-21T12:40:45.5Z")), Now)!;
        Assert.Equal(RateHeaderStyle.Anthropic, parsed.Style);
        Assert.Equal(1000, parsed.RequestsPerMinute);
        Assert.Equal(999, parsed.RequestsRemaining);
        Assert.Equal(TimeSpan.FromSeconds(29), parsed.RequestsReset);
        Assert.Equal(96000, parsed.TokensPerMinute);
        Assert.Equal(95000, parsed.TokensRemaining);
        Assert.Equal(TimeSpan.FromSeconds(15.5), parsed.TokensReset);
    }

    [Fact]
    public void Anthropic_without_a_combined_tokens_limit_takes_the_input_tokens_limit()
    {
        var parsed = ProviderRateHeaders.Parse(Headers(
            ("anthropic-ratelimit-requests-limit", "50"), ("anthropic-ratelimit-requests-remaining", "0"),
            ("anthropic-ratelimit-requests-reset", "2025-08-21T12:40:40+00:00"),
            ("anthropic-ratelimit-input-tokens-limit", "40000"), ("anthropic-ratelimit-input-tokens-remaining", "12000"),
            ("anthropic-ratelimit-input-tokens-reset", "2025-08-21T12:40:20Z"),
            ("anthropic-ratelimit-output-tokens-limit", "8000")), Now)!;
        Assert.Equal(50, parsed.RequestsPerMinute);
        Assert.Equal(0, parsed.RequestsRemaining);
        Assert.Equal(TimeSpan.FromSeconds(10), parsed.RequestsReset);
        Assert.Equal(40000, parsed.TokensLimit);
        Assert.Equal(12000, parsed.TokensRemaining);
        // A reset already past means "now".
        Assert.Equal(TimeSpan.Zero, parsed.TokensReset);
    }

    [Fact]
    public void Together_headers_are_read_but_give_no_per_minute_limit()
    {
        var parsed = ProviderRateHeaders.Parse(Headers(
            ("x-ratelimit-limit", "10"), ("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1"),
            ("x-tokenlimit-limit", "3000"), ("x-tokenlimit-remaining", "2500")), Now)!;
        Assert.Equal(RateHeaderStyle.Together, parsed.Style);
        Assert.Equal(10, parsed.RequestsLimit);
        Assert.Equal(0, parsed.RequestsRemaining);
        Assert.Equal(TimeSpan.FromSeconds(1), parsed.RequestsReset);
        Assert.Equal(3000, parsed.TokensLimit);
        Assert.Equal(2500, parsed.TokensRemaining);
        // Their window is not stated (Together's docs enforce per second): nothing is learned from them.
        Assert.Null(parsed.RequestsPerMinute);
        Assert.Null(parsed.TokensPerMinute);
    }

    [Fact]
    public void Negative_and_unreadable_figures_are_null()
    {
        // Azure OpenAI sends -1 and 0 when it does not track a limit.
        var parsed = ProviderRateHeaders.Parse(Headers(
            ("x-ratelimit-limit-tokens", "-1"), ("x-ratelimit-remaining-tokens", "-1"), ("x-ratelimit-reset-tokens", "0"),
            ("x-ratelimit-limit-requests", "lots"), ("x-ratelimit-remaining-requests", "12.0")), Now)!;
        Assert.Null(parsed.TokensLimit);
        Assert.Null(parsed.TokensRemaining);
        Assert.Equal(TimeSpan.Zero, parsed.TokensReset);
        Assert.Null(parsed.RequestsLimit);
        Assert.Equal(12, parsed.RequestsRemaining);
        Assert.Null(parsed.RequestsPerMinute);
    }

    [Fact]
    public void A_zero_limit_is_no_limit()
    {
        var parsed = ProviderRateHeaders.Parse(Headers(("x-ratelimit-limit-requests", "0"), ("x-ratelimit-remaining-requests", "0")), Now)!;
        Assert.Null(parsed.RequestsLimit);
        Assert.Null(parsed.RequestsPerMinute);
        Assert.Equal(0, parsed.RequestsRemaining);
    }
}
