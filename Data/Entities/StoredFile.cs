namespace AspireBatch.Data.Entities;

/// <summary>An uploaded file (OpenAI Files API); batch output and error files are produced from items on demand.</summary>
public sealed class StoredFile
{
    public required string Id { get; set; }
    public required string FileName { get; set; }
    public required string Purpose { get; set; }
    public long Bytes { get; set; }
    public byte[] Content { get; set; } = [];
    /// <summary>For batch_output files: the job whose results the file shows; null for uploads.</summary>
    public Guid? JobId { get; set; }
    public string? OutputKind { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>The team that uploaded the file, or whose batch produced it.</summary>
    public string Team { get; set; } = Contracts.ApiScopes.AdminTeam;
    /// <summary>
    /// Set when a batch's output or error file is deleted: the row stays as a tombstone so the batch keeps naming the
    /// file (as at OpenAI) and reading the batch does not register it again. Uploads are deleted outright.
    /// </summary>
    public DateTimeOffset? DeletedAt { get; set; }
    /// <summary>
    /// When the file expires (OpenAI's <c>expires_after</c> on upload, a batch's <c>output_expires_after</c> on its
    /// output and error files): from then on every read answers 404, and the Worker's retention sweeper deletes it.
    /// Null: kept until deleted.
    /// </summary>
    public DateTimeOffset? ExpiresAt { get; set; }
}
