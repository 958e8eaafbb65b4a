using AspireBatch.Worker.Limits;

namespace AspireBatch.Worker.Execution;

/// <summary>What one HTTP call to a provider gave, as <see cref="ResponseInterpreter"/> judged it.</summary>
public sealed record CallResult(
    int? StatusCode, string? Body, string? ErrorCode, string? ErrorMessage, bool Retryable, TimeSpan? RetryAfter,
    string? Text = null, string? FinishReason = null, string? ResponseModel = null, string? ResponseId = null)
{
    public bool Succeeded => ErrorCode is null;

    /// <summary>Token counts as the provider reported them; null when it sent none.</summary>
    public ReportedUsage? Usage { get; init; }

    public int? InputTokens => Usage?.InputTokens;

    public int? OutputTokens => Usage?.OutputTokens;

    /// <summary>An embeddings answer's vectors, one per input, all of one size.</summary>
    public IReadOnlyList<float[]>? Vectors { get; init; }

    /// <summary>The limits the provider stated in its rate-limit headers, when it sent any.</summary>
    public ProviderRateHeaders? RateHeaders { get; init; }
}
