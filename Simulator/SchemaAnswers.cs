using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AspireBatch.Simulator;

/// <summary>
/// Answers for <c>response_format: json_schema</c>, as a pure function of the schema and the transcript's hash, so every
/// instance gives a prompt the same document. Covers what extraction schemas use: <c>type</c> (object, array, string,
/// number, integer, boolean, null, or a list of them), <c>properties</c> (every property is given, as strict mode
/// wants), <c>items</c>, <c>enum</c>, <c>const</c>, <c>minimum</c>/<c>maximum</c>, <c>minItems</c>/<c>maxItems</c>,
/// <c>minLength</c>, and the first branch of <c>anyOf</c>/<c>oneOf</c>. It does not resolve <c>$ref</c> or honour
/// <c>pattern</c> or <c>format</c>.
/// </summary>
public static class SchemaAnswers
{
    private const int MaxDepth = 16;

    /// <summary>A compact JSON document that follows <paramref name="schema"/>.</summary>
    public static string Conforming(JsonElement schema, IReadOnlyList<(string Role, string Content)> messages) =>
        Generate(schema, new Seed(Hash(messages)), 0)?.ToJsonString() ?? "null";

    /// <summary>
    /// A document that breaks <paramref name="schema"/>: its first required property removed, else its first property
    /// given a value of the wrong type, else (nothing to break inside) the conforming document cut in half, so not JSON.
    /// </summary>
    public static string Violating(JsonElement schema, IReadOnlyList<(string Role, string Content)> messages)
    {
        var document = Generate(schema, new Seed(Hash(messages)), 0);
        if (document is JsonObject answer && schema.ValueKind == JsonValueKind.Object)
        {
            if (schema.TryGetProperty("required", out var required) && required.ValueKind == JsonValueKind.Array
                && required.EnumerateArray().Select(r => r.GetString()).FirstOrDefault(n => n is not null && answer.ContainsKey(n)) is { } name)
            {
                answer.Remove(name);
                return answer.ToJsonString();
            }
            if (answer.Count > 0)
            {
                var (key, value) = answer.First();
                answer[key] = value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? JsonValue.Create(12345) : JsonValue.Create("not-what-the-schema-asks");
                return answer.ToJsonString();
            }
        }
        var text = document?.ToJsonString() ?? "null";
        return "{\"answer\": " + text[..(text.Length / 2)];
    }

    private static JsonNode? Generate(JsonElement schema, Seed seed, int depth)
    {
        if (schema.ValueKind != JsonValueKind.Object || depth > MaxDepth)
        {
            return JsonValue.Create("sim");
        }
        if (schema.TryGetProperty("const", out var constant))
        {
            return JsonNode.Parse(constant.GetRawText());
        }
        if (schema.TryGetProperty("enum", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
        {
            return JsonNode.Parse(choices[(int)(seed.Next() % (uint)choices.GetArrayLength())].GetRawText());
        }
        foreach (var branches in new[] { "anyOf", "oneOf" })
        {
            if (schema.TryGetProperty(branches, out var options) && options.ValueKind == JsonValueKind.Array && options.GetArrayLength() > 0)
            {
                return Generate(options[0], seed, depth + 1);
            }
        }
        switch (TypeOf(schema))
        {
            case "object":
                var answer = new JsonObject();
                if (schema.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object)
                {
                    foreach (var property in properties.EnumerateObject())
                    {
                        answer[property.Name] = Generate(property.Value, seed.For(property.Name), depth + 1);
                    }
                }
                return answer;
            case "array":
                var min = IntOf(schema, "minItems") ?? 1;
                var max = Math.Max(min, IntOf(schema, "maxItems") ?? Math.Max(min, 3));
                var count = min + (int)(seed.Next() % (uint)(max - min + 1));
                var items = schema.TryGetProperty("items", out var itemSchema) ? itemSchema : default;
                var array = new JsonArray();
                for (var i = 0; i < count; i++)
                {
                    array.Add(items.ValueKind == JsonValueKind.Object ? Generate(items, seed.For(i.ToString()), depth + 1) : JsonValue.Create($"item{i}"));
                }
                return array;
            case "integer":
                var low = (long)(NumberOf(schema, "minimum") ?? 0);
                var high = (long)(NumberOf(schema, "maximum") ?? low + 99);
                return JsonValue.Create(low + (long)(seed.Next() % (ulong)Math.Max(1, high - low + 1)));
            case "number":
                var from = NumberOf(schema, "minimum") ?? 0;
                var to = NumberOf(schema, "maximum") ?? from + 1;
                return JsonValue.Create(Math.Round(from + (to - from) * (seed.Next() % 1000) / 999.0, 3));
            case "boolean":
                return JsonValue.Create(seed.Next() % 2 == 0);
            case "null":
                return null;
            default:
                var text = $"sim-{seed.Next():x8}";
                var minLength = IntOf(schema, "minLength") ?? 0;
                return JsonValue.Create(text.Length >= minLength ? text : text.PadRight(minLength, 'x'));
        }
    }

    /// <summary>The schema's type, the first non-null one of a list; an untyped schema with properties is an object.</summary>
    private static string TypeOf(JsonElement schema)
    {
        if (schema.TryGetProperty("type", out var type))
        {
            if (type.ValueKind == JsonValueKind.String)
            {
                return type.GetString()!;
            }
            if (type.ValueKind == JsonValueKind.Array)
            {
                var names = type.EnumerateArray().Select(t => t.GetString()).ToList();
                return names.FirstOrDefault(n => n != "null") ?? "null";
            }
        }
        return schema.TryGetProperty("properties", out _) ? "object" : schema.TryGetProperty("items", out _) ? "array" : "string";
    }

    private static int? IntOf(JsonElement schema, string name) =>
        schema.TryGetProperty(name, out var value) && value.TryGetInt32(out var number) ? number : null;

    private static double? NumberOf(JsonElement schema, string name) =>
        schema.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;

    private static byte[] Hash(IReadOnlyList<(string Role, string Content)> messages)
    {
        var transcript = new StringBuilder();
        foreach (var (role, content) in messages)
        {
            transcript.Append(role).Append(':').Append(content).Append('\n');
        }
        return SHA256.HashData(Encoding.UTF8.GetBytes(transcript.ToString()));
    }

    /// <summary>Draws from the transcript's hash; each property gets a seed of its own so siblings do not move together.</summary>
    private sealed class Seed(byte[] hash)
    {
        private uint _counter;

        public uint Next()
        {
            Span<byte> input = stackalloc byte[hash.Length + 4];
            hash.CopyTo(input);
            BinaryPrimitives.WriteUInt32BigEndian(input[hash.Length..], _counter++);
            return BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(input));
        }

        public Seed For(string name) => new(SHA256.HashData([.. hash, .. Encoding.UTF8.GetBytes(name)]));
    }
}
