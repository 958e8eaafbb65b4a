using AspireBatch.Contracts;

namespace AspireBatch.Data.Entities;

/// <summary>
/// One record of a job and, once done, its one result. A claim sets a lease token (a fencing token);
/// the result is written only while that token still holds, so a worker that lost its lease cannot write.
/// </summary>
public sealed class Item
{
    public long Id { get; set; }
    public Guid JobId { get; set; }
    /// <summary>Line number of the record in the uploaded file (1-based; CSV counts the header).</summary>
    public int LineNumber { get; set; }
    public required string CustomId { get; set; }
    public ItemState State { get; set; }
    /// <summary>The record's fields, or the OpenAI Batch request body, as JSON.</summary>
    public required string Payload { get; set; }
    public int EstimatedInputTokens { get; set; }
    /// <summary>
    /// The dedup key (<see cref="Domain.RequestHash"/>, 16 bytes) when the record takes part in its job's
    /// deduplication; null when it is sent whatever the others are.
    /// </summary>
    public byte[]? RequestHash { get; set; }
    /// <summary>
    /// The record that is sent and pays for this one (the job's first record with the same key): this record is never
    /// claimed, takes that record's answer when it is written, and costs nothing.
    /// </summary>
    public long? DuplicateOf { get; set; }

    public int Attempts { get; set; }
    public Guid? LeaseToken { get; set; }
    public DateTimeOffset? LeaseExpiresAt { get; set; }

    public string? ResponseText { get; set; }
    public string? ResponseBody { get; set; }
    public string? FinishReason { get; set; }
    public int? InputTokens { get; set; }
    public int? OutputTokens { get; set; }
    public decimal? CostUsd { get; set; }
    public int? LatencyMs { get; set; }
    public Guid? ProviderId { get; set; }
    public string? ModelName { get; set; }
    public string? ResponseModel { get; set; }
    public int? StatusCode { get; set; }
    public string? ErrorCode { get; set; }
    public string? ErrorMessage { get; set; }
    /// <summary><see cref="UsageSources"/>: reported by the provider, or estimated with the tokenizer when it sent none.</summary>
    public string? UsageSource { get; set; }
    public int? CachedInputTokens { get; set; }
    public int? ReasoningTokens { get; set; }
    /// <summary>
    /// An embeddings record's vectors: float32 little-endian, one after the other (one per input), which is also what
    /// OpenAI's base64 <c>encoding_format</c> encodes. Null for a chat record.
    /// </summary>
    public byte[]? Embedding { get; set; }
    public int? EmbeddingDimensions { get; set; }
    /// <summary>The record of an earlier job whose cached answer this one took (<see cref="Contracts.UsageSources.Cached"/>).</summary>
    public long? CachedFrom { get; set; }

    // Lineage of the result: which call gave it (the job, its template and parameter hashes and the requested model are on the job).
    /// <summary>The provider's id of the answer (<c>gen_ai.response.id</c>).</summary>
    public string? ResponseId { get; set; }
    /// <summary>The position in the job's route of the target that gave the result; null for a job on one model.</summary>
    public int? RoutePosition { get; set; }
    /// <summary>The number of the attempt (1-based, across the record's life) that gave the result.</summary>
    public int? ResultAttempt { get; set; }

    /// <summary>
    /// Calls sent under the current lease and not yet written, with what they may cost: recorded before each call, so
    /// the calls of a worker that dies mid-call become in-doubt attempts when its lease expires instead of vanishing.
    /// </summary>
    public int CallsInFlight { get; set; }
    public decimal InFlightCostUsd { get; set; }
    public Guid? InFlightProviderId { get; set; }
    public string? InFlightModel { get; set; }
    /// <summary>Calls whose outcome is unknown (their worker was lost), and what they may have cost at most.</summary>
    public int InDoubtCalls { get; set; }
    public decimal InDoubtCostUsd { get; set; }
    /// <summary>Our own failures met by this item; it goes back to the queue until there are too many.</summary>
    public int InternalErrors { get; set; }
    /// <summary>
    /// The provider batch that holds the record (running, with the batch's lease token and no lease expiry) or that gave
    /// its result; null for a record answered in real time.
    /// </summary>
    public Guid? ProviderBatchId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
}
