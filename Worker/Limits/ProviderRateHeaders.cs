using System.Globalization;
using System.Net.Http.Headers;

namespace AspireBatch.Worker.Limits;

/// <summary>Which header family a provider used; it decides whether the figures are per minute.</summary>
public enum RateHeaderStyle
{
    /// <summary><c>x-ratelimit-{limit|remaining|reset}-{requests|tokens}</c>: OpenAI, Groq, DeepSeek, Cerebras, OpenRouter.</summary>
    OpenAi,

    /// <summary><c>anthropic-ratelimit-{requests|tokens|input-tokens|output-tokens}-{limit|remaining|reset}</c>.</summary>
    Anthropic,

    /// <summary>Bare <c>x-ratelimit-{limit|remaining|reset}</c> and <c>x-tokenlimit-{limit|remaining}</c>: Together AI.</summary>
    Together,
}

/// <summary>
/// What a provider says about its limits in its response headers. Resets are durations from the moment the answer
/// was read. Figures that are absent, unparsable or negative (Azure sends -1 for "not tracked") are null; a limit of 0
/// is null too, since no provider enforces "no calls at all" this way.
/// </summary>
public sealed record ProviderRateHeaders(int? RequestsLimit, int? RequestsRemaining, TimeSpan? RequestsReset,
    int? TokensLimit, int? TokensRemaining, TimeSpan? TokensReset)
{
    /// <summary>A reset this far ahead says the window is longer than a minute (Groq's requests figure is per day).</summary>
    public static readonly TimeSpan MinuteWindow = TimeSpan.FromSeconds(61);

    public RateHeaderStyle Style { get; init; }

    /// <summary>
    /// The requests limit as a per-minute figure, or null when the provider's window is not a minute: Groq's
    /// <c>x-ratelimit-limit-requests</c> is requests per day (its reset reads like <c>2m59.56s</c>), and Together's bare
    /// headers do not say their window (its docs enforce per second and quote per minute).
    /// </summary>
    public int? RequestsPerMinute => PerMinute(RequestsLimit, RequestsReset);

    /// <summary>The tokens limit as a per-minute figure, on the same terms as <see cref="RequestsPerMinute"/>.</summary>
    public int? TokensPerMinute => PerMinute(TokensLimit, TokensReset);

    private int? PerMinute(int? limit, TimeSpan? reset) => Style == RateHeaderStyle.Together || reset > MinuteWindow ? null : limit;

    public static ProviderRateHeaders? Parse(HttpResponseHeaders headers) => Parse(headers, DateTimeOffset.UtcNow);

    /// <param name="now">The time Anthropic's RFC 3339 reset instants are measured from.</param>
    public static ProviderRateHeaders? Parse(HttpResponseHeaders headers, DateTimeOffset now)
    {
        string? Get(string name) => headers.TryGetValues(name, out var values) ? values.FirstOrDefault()?.Trim() : null;

        if (Get("x-ratelimit-limit-requests") is not null || Get("x-ratelimit-limit-tokens") is not null
            || Get("x-ratelimit-remaining-requests") is not null || Get("x-ratelimit-remaining-tokens") is not null)
        {
            return new ProviderRateHeaders(
                Limit(Get("x-ratelimit-limit-requests")), Count(Get("x-ratelimit-remaining-requests")), Duration(Get("x-ratelimit-reset-requests")),
                Limit(Get("x-ratelimit-limit-tokens")), Count(Get("x-ratelimit-remaining-tokens")), Duration(Get("x-ratelimit-reset-tokens")))
            { Style = RateHeaderStyle.OpenAi };
        }

        if (Get("anthropic-ratelimit-requests-limit") is not null || Get("anthropic-ratelimit-tokens-limit") is not null
            || Get("anthropic-ratelimit-input-tokens-limit") is not null)
        {
            // "tokens-*" is the most restrictive token limit in effect; without it the input-tokens limit (ITPM) stands
            // in, which is conservative since our token budget counts input and output together.
            var tokens = Get("anthropic-ratelimit-tokens-limit") is not null ? "tokens" : "input-tokens";
            return new ProviderRateHeaders(
                Limit(Get("anthropic-ratelimit-requests-limit")), Count(Get("anthropic-ratelimit-requests-remaining")),
                Instant(Get("anthropic-ratelimit-requests-reset"), now),
                Limit(Get($"anthropic-ratelimit-{tokens}-limit")), Count(Get($"anthropic-ratelimit-{tokens}-remaining")),
                Instant(Get($"anthropic-ratelimit-{tokens}-reset"), now))
            { Style = RateHeaderStyle.Anthropic };
        }

        if (Get("x-ratelimit-limit") is not null || Get("x-ratelimit-remaining") is not null || Get("x-tokenlimit-limit") is not null)
        {
            return new ProviderRateHeaders(
                Limit(Get("x-ratelimit-limit")), Count(Get("x-ratelimit-remaining")), Duration(Get("x-ratelimit-reset")),
                Limit(Get("x-tokenlimit-limit")), Count(Get("x-tokenlimit-remaining")), null)
            { Style = RateHeaderStyle.Together };
        }

        return null;
    }

    private static int? Limit(string? value) => Count(value) is > 0 and var limit ? limit : null;

    private static int? Count(string? value) =>
        double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number >= 0 && double.IsFinite(number)
            ? (int)Math.Min(int.MaxValue, Math.Floor(number))
            : null;

    /// <summary>
    /// A Go-style duration as OpenAI and Groq send it (<c>1s</c>, <c>6m0s</c>, <c>20ms</c>, <c>1m30.5s</c>, <c>1h2m</c>,
    /// <c>500us</c>), or a bare number of seconds (Together and some OpenAI-compatible servers).
    /// </summary>
    public static TimeSpan? Duration(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }
        if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var bare))
        {
            return bare >= 0 && double.IsFinite(bare) ? TimeSpan.FromSeconds(bare) : null;
        }
        var total = 0d;
        var i = 0;
        while (i < value.Length)
        {
            var start = i;
            while (i < value.Length && (char.IsAsciiDigit(value[i]) || value[i] == '.'))
            {
                i++;
            }
            if (i == start || !double.TryParse(value.AsSpan(start, i - start), NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
            {
                return null;
            }
            var unitStart = i;
            while (i < value.Length && char.IsAsciiLetter(value[i]) || i < value.Length && value[i] == 'µ')
            {
                i++;
            }
            double? milliseconds = value.AsSpan(unitStart, i - unitStart) switch
            {
                "h" => number * 3_600_000,
                "m" => number * 60_000,
                "s" => number * 1000,
                "ms" => number,
                "us" or "µs" => number / 1000,
                "ns" => number / 1_000_000,
                _ => null,
            };
            if (milliseconds is not { } ms)
            {
                return null;
            }
            total += ms;
        }
        return TimeSpan.FromMilliseconds(total);
    }

    /// <summary>An RFC 3339 instant as the time left until it (zero when it is past).</summary>
    private static TimeSpan? Instant(string? value, DateTimeOffset now) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at > now ? at - now : TimeSpan.Zero
            : null;
}
