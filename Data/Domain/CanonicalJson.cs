using System.Text.Json;

namespace AspireBatch.Data.Domain;

/// <summary>
/// JSON in one form, so the same value written two ways hashes the same: keys sorted (ordinal) at every depth, no
/// whitespace, and numbers written in one form (0, 0.0 and 0e0 are the same temperature). Used by the dedup key and
/// by the lineage hashes.
/// </summary>
internal static class CanonicalJson
{
    public static void Write(Utf8JsonWriter json, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                json.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    json.WritePropertyName(property.Name);
                    Write(json, property.Value);
                }
                json.WriteEndObject();
                break;
            case JsonValueKind.Array:
                json.WriteStartArray();
                foreach (var value in element.EnumerateArray())
                {
                    Write(json, value);
                }
                json.WriteEndArray();
                break;
            case JsonValueKind.Number when element.TryGetDecimal(out var number):
                // Dividing by 1.000... drops trailing zeros: 0.50 and 0.5 write the same.
                json.WriteNumberValue(number / 1.0000000000000000000000000000m);
                break;
            default:
                element.WriteTo(json);
                break;
        }
    }
}
