using System.Text.Json.Serialization;

namespace AspireBatch.Contracts;

/// <summary>
/// OpenAI's `OpenAIFile`. `status` is always `processed`: a stored file is ready at once. `expires_at` is set by the
/// upload's `expires_after` (or the batch's `output_expires_after` for its output and error files), null otherwise.
/// </summary>
public sealed record OpenAiFile(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("created_at")] long CreatedAt,
    [property: JsonPropertyName("filename")] string FileName,
    [property: JsonPropertyName("purpose")] string Purpose,
    [property: JsonPropertyName("expires_at")] long? ExpiresAt = null)
{
    [JsonPropertyName("object")] public string Object => "file";
    [JsonPropertyName("status")] public string Status => "processed";
}
