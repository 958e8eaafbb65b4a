namespace AspireBatch.Data.Entities;

/// <summary>One call to a provider for an item: kept for every try, charged only when it answered.</summary>
public sealed class Attempt
{
    public long Id { get; set; }
    public long ItemId { get; set; }
    public Guid JobId { get; set; }
    public int Number { get; set; }
    public Guid? ProviderId { get; set; }
    public required string ProviderName { get; set; }
    public required string ModelName { get; set; }
    public int? StatusCode { get; set; }
    public string? ErrorCode { get; set; }
    public string? ErrorMessage { get; set; }
    public int LatencyMs { get; set; }
    /// <summary>Time waited before this attempt (backoff or Retry-After).</summary>
    public int WaitMs { get; set; }
    public bool Fallback { get; set; }
    public int? InputTokens { get; set; }
    public int? OutputTokens { get; set; }
    /// <summary>What the provider charged for this call: set whenever it answered with usage (or an answer whose usage was estimated).</summary>
    public decimal? CostUsd { get; set; }
    /// <summary><see cref="AspireBatch.Contracts.UsageSources"/> of the tokens and cost above.</summary>
    public string? UsageSource { get; set; }
    public int? CachedInputTokens { get; set; }
    public int? ReasoningTokens { get; set; }
    /// <summary>For an attempt whose outcome is unknown: the most it may have cost (not counted as paid).</summary>
    public decimal? PossibleCostUsd { get; set; }
    public DateTimeOffset StartedAt { get; set; }
    /// <summary>Set when the call was a line of a provider-native batch (priced at the batch price); null for a real-time call.</summary>
    public Guid? ProviderBatchId { get; set; }
}
