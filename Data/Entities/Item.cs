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

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
}
