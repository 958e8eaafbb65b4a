namespace AspireBatch.Data.Entities;

/// <summary>
/// An answer kept for later jobs that opted in to the response cache. The key is a hash of everything the answer depends
/// on: the endpoint, the model as the job named it, the request parameters and the rendered request (see
/// <see cref="Domain.RequestHash.CacheKey"/>). Written with the result that paid for it; read at import.
/// </summary>
public sealed class ResponseCacheEntry
{
    public required byte[] Key { get; set; }
    public long SourceItemId { get; set; }
    public Guid SourceJobId { get; set; }
    public string? ResponseText { get; set; }
    public string? ResponseBody { get; set; }
    public string? FinishReason { get; set; }
    public string? ResponseModel { get; set; }
    public string? ResponseId { get; set; }
    public Guid? ProviderId { get; set; }
    public string? ModelName { get; set; }
    public int? StatusCode { get; set; }
    public byte[]? Embedding { get; set; }
    public int? EmbeddingDimensions { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ExpiresAt { get; set; }
}
