using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AspireBatch.Data.Domain;

/// <summary>
/// The hashes a job's results carry as lineage: two jobs with the same hash sent the same templates (or the same
/// request parameters). SHA-256 in lower-case hex, cut to 16 characters: enough to tell jobs apart, short enough to read.
/// </summary>
public static class LineageHash
{
    private const int Length = 16;

    /// <summary>The system and user templates, separated by a NUL so "ab" + "c" and "a" + "bc" differ; a missing template counts as empty.</summary>
    public static string Templates(string? system, string? user) =>
        Hash(Encoding.UTF8.GetBytes($"{system}\0{user}"));

    /// <summary>
    /// The request parameters as one canonical JSON object, {"max_tokens","response_format","temperature"} in that
    /// order with nulls kept; response_format's keys are sorted at every depth and its whitespace dropped, so the
    /// same format written another way hashes the same.
    /// </summary>
    public static string Parameters(double? temperature, int? maxTokens, string? responseFormat) =>
        Hash(CanonicalParameters(temperature, maxTokens, responseFormat));

    /// <summary>
    /// A job's parameters for its endpoint: a chat job's as <see cref="Parameters(double?, int?, string?)"/> (so its
    /// hash is what it always was); an embeddings job's as {"dimensions","endpoint"}, since nothing else applies.
    /// </summary>
    public static string Parameters(Contracts.JobEndpoint endpoint, double? temperature, int? maxTokens, string? responseFormat, int? dimensions)
    {
        if (endpoint == Contracts.JobEndpoint.ChatCompletions)
        {
            return Parameters(temperature, maxTokens, responseFormat);
        }
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (dimensions is { } d) json.WriteNumber("dimensions", d); else json.WriteNull("dimensions");
            json.WriteString("endpoint", Contracts.JobEndpoints.Path(endpoint));
            json.WriteEndObject();
        }
        return Hash(buffer.WrittenSpan);
    }

    internal static byte[] CanonicalParameters(double? temperature, int? maxTokens, string? responseFormat)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (maxTokens is { } max) json.WriteNumber("max_tokens", max); else json.WriteNull("max_tokens");
            json.WritePropertyName("response_format");
            if (string.IsNullOrWhiteSpace(responseFormat))
            {
                json.WriteNullValue();
            }
            else
            {
                using var document = JsonDocument.Parse(responseFormat);
                CanonicalJson.Write(json, document.RootElement);
            }
            if (temperature is { } t) json.WriteNumber("temperature", t); else json.WriteNull("temperature");
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    private static string Hash(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes))[..Length];
}
