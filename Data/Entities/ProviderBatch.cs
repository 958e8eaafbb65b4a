using AspireBatch.Contracts;

namespace AspireBatch.Data.Entities;

/// <summary>
/// One batch sent to a provider's own /v1/batches: the records it holds (items.provider_batch_id, fenced by
/// <see cref="LeaseToken"/>), the provider's ids as each step stores them, and its prices. A worker that dies resumes it
/// from <see cref="State"/>, so nothing is uploaded into a second batch and no result is written twice.
/// </summary>
public sealed class ProviderBatch
{
    public Guid Id { get; set; }
    public Guid JobId { get; set; }
    public Guid ProviderId { get; set; }
    public required string Model { get; set; }
    public JobEndpoint Endpoint { get; set; }
    public ProviderBatchState State { get; set; }
    /// <summary>The lease token its records carry: results are written only while they still hold it.</summary>
    public Guid LeaseToken { get; set; }

    public string? RemoteInputFileId { get; set; }
    public string? RemoteBatchId { get; set; }
    /// <summary>The provider's status as last read (validating, in_progress, finalizing, completed, expired, cancelling, cancelled, failed).</summary>
    public string? RemoteStatus { get; set; }
    public string? RemoteOutputFileId { get; set; }
    public string? RemoteErrorFileId { get; set; }

    public int LineCount { get; set; }
    public long Bytes { get; set; }
    /// <summary>The provider's request_counts as last read.</summary>
    public int CompletedLines { get; set; }
    public int FailedLines { get; set; }
    /// <summary>Records given back to the queue when it ended (expired, cancelled, retryable failures).</summary>
    public int ReleasedLines { get; set; }

    /// <summary>The batch prices its lines are charged at, and the real-time ones, fixed when it was packed (for the saving).</summary>
    public decimal InputPricePerMTok { get; set; }
    public decimal OutputPricePerMTok { get; set; }
    public decimal RealtimeInputPricePerMTok { get; set; }
    public decimal RealtimeOutputPricePerMTok { get; set; }

    /// <summary>Why it must stop (the job was paused or cancelled, or an auto job reached its real-time cutoff); the cancel is sent once.</summary>
    public string? CancelReason { get; set; }
    public DateTimeOffset? CancelRequestedAt { get; set; }
    public DateTimeOffset? CancelSentAt { get; set; }

    public int Polls { get; set; }
    public DateTimeOffset? NextPollAt { get; set; }
    public string? Error { get; set; }
    /// <summary>W3C traceparent of the packing step, so every stage's span joins one trace.</summary>
    public string? TraceParent { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? SubmittedAt { get; set; }
    public DateTimeOffset? EndedAt { get; set; }
    public DateTimeOffset? DoneAt { get; set; }
}
