namespace AspireBatch.Contracts;

/// <summary>
/// One provider-native batch of a job: its stage and the provider's ids and status, its lines, and what its answered
/// lines cost at the batch price against what the same tokens cost in real time.
/// </summary>
public sealed record ProviderBatchDto(
    Guid Id,
    ProviderBatchState State,
    string ProviderName,
    string Model,
    string? RemoteBatchId,
    string? RemoteStatus,
    int Lines,
    long Bytes,
    int CompletedLines,
    int FailedLines,
    int ReleasedLines,
    long Calls,
    long InputTokens,
    long OutputTokens,
    decimal CostUsd,
    decimal RealtimeCostUsd,
    decimal InputPricePerMTok,
    decimal OutputPricePerMTok,
    string? CancelReason,
    string? Error,
    DateTimeOffset CreatedAt,
    DateTimeOffset? SubmittedAt,
    DateTimeOffset? EndedAt,
    DateTimeOffset? DoneAt);

/// <summary>A job's provider batches, their spend and the saving against real time (the same tokens at the real-time price).</summary>
public sealed record JobProviderBatches(
    Guid JobId,
    JobMode Mode,
    DateTimeOffset? Deadline,
    IReadOnlyList<ProviderBatchDto> Batches,
    decimal BatchCostUsd,
    decimal RealtimeEquivalentUsd,
    decimal RealtimeCostUsd)
{
    public decimal SavingUsd => RealtimeEquivalentUsd - BatchCostUsd;
}
