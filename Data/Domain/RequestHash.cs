using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;

namespace AspireBatch.Data.Domain;

/// <summary>
/// The key that tells two records of a job apart for deduplication: the first 16 bytes of SHA-256 over the rendered
/// request, in a canonical form. A template job sends every record to the same target with the same parameters, so
/// its key covers the rendered system and user messages; an OpenAI Batch line carries its own parameters, so its key
/// covers the whole body except <c>model</c> (every line of a batch names the same one).
/// </summary>
public static class RequestHash
{
    public const int Length = 16;

    /// <summary>A template job's record: its rendered system message (or none) and user message.</summary>
    public static byte[] Messages(string? system, string user) => Hash(CanonicalMessages(system, user));

    /// <summary>An OpenAI Batch line's body, without its model.</summary>
    public static byte[] BatchBody(JsonElement body) => Hash(CanonicalBatchBody(body));

    /// <summary>["system or null","user"]: a JSON array, so no separator can be forged by a message's text.</summary>
    internal static byte[] CanonicalMessages(string? system, string user)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartArray();
            if (system is null) json.WriteNullValue(); else json.WriteStringValue(system);
            json.WriteStringValue(user);
            json.WriteEndArray();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The body with <c>model</c> left out, keys sorted (ordinal) at every depth, no whitespace, and numbers written in
    /// one form (0, 0.0 and 0e0 are the same temperature), so the same request written two ways has one key.
    /// </summary>
    internal static byte[] CanonicalBatchBody(JsonElement body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            if (body.ValueKind == JsonValueKind.Object)
            {
                json.WriteStartObject();
                foreach (var property in body.EnumerateObject().Where(p => p.Name != "model").OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    json.WritePropertyName(property.Name);
                    CanonicalJson.Write(json, property.Value);
                }
                json.WriteEndObject();
            }
            else
            {
                CanonicalJson.Write(json, body);
            }
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Whether a template job deduplicates: as asked, else when its temperature is 0 (answers are then meant to be the same).</summary>
    public static bool TemplateJobDeduplicates(bool? option, double? temperature) => option ?? temperature == 0;

    /// <summary>An embeddings job deduplicates unless told not to: the same input gives the same vector.</summary>
    public static bool EmbeddingsDeduplicate(bool? option) => option ?? true;

    /// <summary>
    /// Whether an OpenAI Batch line takes part: as the job asked, else when the line's own body sets temperature 0.
    /// A line without a temperature runs at the provider's default (1 for OpenAI), whose answers vary: each is sent.
    /// </summary>
    public static bool BatchLineDeduplicates(bool? option, JsonElement body) =>
        option ?? (body.ValueKind == JsonValueKind.Object && body.TryGetProperty("temperature", out var t)
                   && t.ValueKind == JsonValueKind.Number && t.TryGetDouble(out var value) && value == 0);

    private static byte[] Hash(ReadOnlySpan<byte> bytes) => SHA256.HashData(bytes)[..Length];
}
