using System.Net.Http.Headers;

namespace AspireBatch.Worker.Limits;

/// <summary>What a provider says about its limits in its response headers.</summary>
public sealed record ProviderRateHeaders(int? RequestsLimit, int? RequestsRemaining, TimeSpan? RequestsReset,
    int? TokensLimit, int? TokensRemaining, TimeSpan? TokensReset)
{
    public static ProviderRateHeaders? Parse(HttpResponseHeaders headers) => null;
}
