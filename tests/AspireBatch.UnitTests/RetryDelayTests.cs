using System.Globalization;
using System.Net.Http.Headers;
using AspireBatch.Worker.Execution;

namespace AspireBatch.UnitTests;

/// <summary>
/// The waits between attempts (README: exponential backoff with jitter, or exactly the provider's Retry-After /
/// retry-after-ms plus at most 10 %, capped at 60 s) and how the provider's wait is read from its headers.
/// </summary>
public sealed class RetryDelayTests
{
    private static readonly TimeSpan Cap = TimeSpan.FromSeconds(60);
    private const int BaseMs = 500;

    // --- Backoff (no Retry-After) ---

    [Theory]
    [InlineData(0, 500)]
    [InlineData(1, 1_000)]
    [InlineData(2, 2_000)]
    [InlineData(3, 4_000)]
    [InlineData(4, 8_000)]
    public void Backoff_doubles_from_the_base_delay_at_polly_attempt_0(int attempt, double middleMs)
    {
        // A draw of 0.5 is the middle of the ±20 % jitter.
        Assert.Equal(middleMs, Delay(null, attempt, jitter: 0.5).TotalMilliseconds, precision: 6);
    }

    [Theory]
    [InlineData(0.0, 0.8)]
    [InlineData(0.25, 0.9)]
    [InlineData(0.999999, 1.2)]
    public void Backoff_jitter_is_plus_or_minus_20_percent(double jitter, double factor)
    {
        Assert.Equal(2_000 * factor, Delay(null, 2, jitter).TotalMilliseconds, precision: 2);
    }

    [Fact]
    public void A_negative_attempt_is_treated_as_the_first()
    {
        Assert.Equal(Delay(null, 0, 0.5), Delay(null, -3, 0.5));
    }

    [Theory]
    [InlineData(7, 500)]
    [InlineData(18, 500)]
    [InlineData(18, 60_000)]
    public void Backoff_never_exceeds_the_cap(int attempt, int baseMs)
    {
        // Polly's last attempt number is MaxAttempts - 2 (MaxAttempts is at most 20); the base at most 60 s.
        Assert.Equal(Cap, ModelCaller.RetryDelay(null, attempt, baseMs, Cap, jitter: 0.999));
    }

    [Fact]
    public void Backoff_just_under_the_cap_is_not_rounded_up_to_it()
    {
        // Attempt 6: 500 ms * 64 = 32 s, times 1.2 at most: 38.4 s.
        Assert.Equal(38_400, Delay(null, 6, jitter: 1 - 1e-12).TotalMilliseconds, precision: 0);
    }

    [Fact]
    public void The_cap_is_the_workers_option()
    {
        Assert.Equal(TimeSpan.FromSeconds(5), ModelCaller.RetryDelay(null, 5, BaseMs, TimeSpan.FromSeconds(5), 0.5));
        Assert.Equal(TimeSpan.FromMilliseconds(200 * 8), ModelCaller.RetryDelay(null, 3, 200, TimeSpan.FromSeconds(5), 0.5));
    }

    // --- The provider's wait ---

    [Theory]
    [InlineData(0.0, 2_000)]
    [InlineData(0.5, 2_100)]
    [InlineData(0.999999, 2_200)]
    public void Retry_after_is_kept_plus_at_most_10_percent(double jitter, double expectedMs)
    {
        Assert.Equal(expectedMs, Delay(TimeSpan.FromSeconds(2), attempt: 3, jitter).TotalMilliseconds, precision: 2);
    }

    [Fact]
    public void Retry_after_replaces_the_backoff_whatever_the_attempt()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(1_200), Delay(TimeSpan.FromMilliseconds(1_200), attempt: 4, jitter: 0));
    }

    [Fact]
    public void A_retry_after_of_0_retries_at_once()
    {
        Assert.Equal(TimeSpan.Zero, Delay(TimeSpan.Zero, attempt: 2, jitter: 0.9));
    }

    [Theory]
    [InlineData(59_000, 60_000)]
    [InlineData(60_000, 60_000)]
    [InlineData(3_600_000, 60_000)]
    public void Retry_after_is_capped_too(double retryAfterMs, double expectedMs)
    {
        Assert.Equal(expectedMs, Delay(TimeSpan.FromMilliseconds(retryAfterMs), attempt: 0, jitter: 0.999).TotalMilliseconds, precision: 6);
    }

    [Fact]
    public void A_huge_retry_after_is_the_cap_not_an_overflow()
    {
        // TimeSpan.MaxValue * 1.05 does not fit in a TimeSpan.
        Assert.Equal(Cap, Delay(TimeSpan.MaxValue, attempt: 0, jitter: 0.5));
    }

    // --- Reading the headers ---

    private static readonly DateTimeOffset Now = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void No_header_is_no_wait_of_the_providers()
    {
        Assert.Null(ProviderClient.RetryAfterOf(Headers(), Now));
    }

    [Theory]
    [InlineData("2", 2_000)]
    [InlineData("0", 0)]
    [InlineData("120", 120_000)]
    public void Retry_after_in_seconds(string value, double expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), ProviderClient.RetryAfterOf(Headers(("Retry-After", value)), Now));
    }

    [Fact]
    public void Retry_after_as_an_http_date_is_the_time_until_then()
    {
        var at = Now.AddSeconds(7).ToString("R", CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.FromSeconds(7), ProviderClient.RetryAfterOf(Headers(("Retry-After", at)), Now));
    }

    [Fact]
    public void A_retry_after_date_already_past_is_no_wait()
    {
        var at = Now.AddSeconds(-30).ToString("R", CultureInfo.InvariantCulture);
        Assert.Equal(TimeSpan.Zero, ProviderClient.RetryAfterOf(Headers(("Retry-After", at)), Now));
    }

    [Theory]
    [InlineData("1200", 1_200)]
    [InlineData("1500.5", 1_500.5)]
    [InlineData("0", 0)]
    [InlineData("2e3", 2_000)]
    public void Retry_after_ms_in_milliseconds(string value, double expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), ProviderClient.RetryAfterOf(Headers(("retry-after-ms", value)), Now));
    }

    [Fact]
    public void Retry_after_ms_wins_over_retry_after()
    {
        Assert.Equal(TimeSpan.FromMilliseconds(250), ProviderClient.RetryAfterOf(Headers(("Retry-After", "3"), ("retry-after-ms", "250")), Now));
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("")]
    [InlineData("-100")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    public void An_unusable_retry_after_ms_is_ignored(string value)
    {
        // A negative wait would make Polly drop our delay for its own default (2 s); NaN and infinity made
        // TimeSpan.FromMilliseconds throw while reading an answer that "nothing in its shape can throw".
        Assert.Null(ProviderClient.RetryAfterOf(Headers(("retry-after-ms", value)), Now));
        Assert.Equal(TimeSpan.FromSeconds(4), ProviderClient.RetryAfterOf(Headers(("retry-after-ms", value), ("Retry-After", "4")), Now));
    }

    [Theory]
    [InlineData("1e20")]
    [InlineData("1e300")]
    [InlineData("922337203685477")]
    public void A_retry_after_ms_too_large_for_a_timespan_is_a_day(string value)
    {
        var wait = ProviderClient.RetryAfterOf(Headers(("retry-after-ms", value)), Now);
        Assert.Equal(TimeSpan.FromDays(1), wait);
        Assert.Equal(Cap, Delay(wait, attempt: 0, jitter: 0.5));
    }

    [Fact]
    public void An_unparsable_retry_after_is_ignored()
    {
        Assert.Null(ProviderClient.RetryAfterOf(Headers(("Retry-After", "in a while")), Now));
    }

    private static TimeSpan Delay(TimeSpan? retryAfter, int attempt, double jitter) => ModelCaller.RetryDelay(retryAfter, attempt, BaseMs, Cap, jitter);

    private static HttpResponseHeaders Headers(params (string Name, string Value)[] headers)
    {
        var response = new HttpResponseMessage();
        foreach (var (name, value) in headers)
        {
            response.Headers.TryAddWithoutValidation(name, value);
        }
        return response.Headers;
    }
}
