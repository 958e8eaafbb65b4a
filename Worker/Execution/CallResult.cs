using AspireBatch.Worker.Limits;

namespace AspireBatch.Worker.Execution;

/// <summary>What one HTTP call to a provider gave.</summary>
public sealed record CallResult(
    int? StatusCode, string? Body, string? ErrorCode, string? ErrorMessage, bool Retryable, TimeSpan? RetryAfter,
    string? Text = null, string? FinishReason = null, int? InputTokens = null, int? OutputTokens = null,
    string? ResponseModel = null, string? ResponseId = null)
{
    public bool Succeeded => ErrorCode is null;

    /// <summary>The limits the provider stated in its rate-limit headers, when it sent any.</summary>
    public ProviderRateHeaders? RateHeaders { get; init; }
}
