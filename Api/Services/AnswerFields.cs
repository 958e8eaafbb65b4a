using System.Text.Json;
using System.Text.RegularExpressions;
using AspireBatch.Contracts;

namespace AspireBatch.Api.Services;

/// <summary>
/// Typed columns: <c>answer.&lt;path&gt;</c> names a value inside the answer read as JSON (a Markdown <c>```json</c>
/// fence around it tolerated), by a dotted path of property names or array indexes, such as <c>answer.sentiment</c>
/// or <c>answer.topics.0</c>. The same path in SQL is <c>try_jsonb(response_text) #&gt;&gt; @path</c> (migration
/// AnswerFields), so the export, the items filter and the distribution read one value the same way.
/// </summary>
public static partial class AnswerFields
{
    public const string Prefix = "answer.";
    public const int MaxDepth = 8;

    /// <summary>Whether a field name is an answer path (otherwise it is a record field, the older meaning of <c>fields=</c>).</summary>
    public static bool IsAnswerField(string field) => field.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>The segments of <c>answer.a.b</c>, or an error message saying what is wrong with it.</summary>
    public static (string[]? Path, string? Error) Parse(string field)
    {
        if (!IsAnswerField(field))
        {
            return (null, $"'{field}' is not an answer field: write answer.<path>, for example answer.sentiment");
        }
        var segments = field[Prefix.Length..].Split('.');
        if (segments.Length > MaxDepth)
        {
            return (null, $"'{field}' is deeper than {MaxDepth} levels");
        }
        foreach (var segment in segments)
        {
            if (!Segment().IsMatch(segment))
            {
                return (null, $"'{field}' is not a path: each part between dots is 1-64 letters, digits, '_' or '-'");
            }
        }
        return (segments, null);
    }

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex Segment();

    /// <summary>The answer as a JSON document, a <c>```json</c> fence stripped; null when it is not JSON.</summary>
    public static JsonDocument? ParseAnswer(string? answer)
    {
        if (string.IsNullOrWhiteSpace(answer))
        {
            return null;
        }
        var text = Unfence(answer);
        if (text.Length == 0 || text[0] is not ('{' or '['))
        {
            // Only objects and arrays have paths; a bare number or string has no fields.
            return null;
        }
        try
        {
            return JsonDocument.Parse(text);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The text inside a Markdown code fence (<c>```json\n...\n```</c> or <c>```\n...\n```</c>), else the text trimmed.</summary>
    public static string Unfence(string answer)
    {
        var text = answer.Trim();
        if (!text.StartsWith("```", StringComparison.Ordinal))
        {
            return text;
        }
        var firstLine = text.IndexOf('\n');
        if (firstLine < 0)
        {
            return text;
        }
        // As try_jsonb does it in SQL: drop the opening line, then a closing fence at the very end.
        var body = text[(firstLine + 1)..].TrimEnd();
        return (body.EndsWith("```", StringComparison.Ordinal) ? body[..^3] : body).Trim();
    }

    /// <summary>The value at <paramref name="path"/>, or null when there is none (like Postgres' <c>#&gt;</c>).</summary>
    public static JsonElement? Find(JsonElement root, IReadOnlyList<string> path)
    {
        var current = root;
        foreach (var segment in path)
        {
            if (current.ValueKind == JsonValueKind.Object && current.TryGetProperty(segment, out var child))
            {
                current = child;
            }
            else if (current.ValueKind == JsonValueKind.Array && int.TryParse(segment, out var index) && index >= 0 && index < current.GetArrayLength())
            {
                current = current[index];
            }
            else
            {
                return null;
            }
        }
        return current;
    }

    /// <summary>
    /// The value as a cell: a string as itself, a number or boolean as its JSON text, an array or object as compact
    /// JSON, null or absent as empty (the same text Postgres' <c>#&gt;&gt;</c> gives, null as "").
    /// </summary>
    public static string Cell(JsonElement? value) => value switch
    {
        null => "",
        { ValueKind: JsonValueKind.Null or JsonValueKind.Undefined } => "",
        { ValueKind: JsonValueKind.String } v => v.GetString()!,
        { } v => Compact(v),
    };

    private static readonly JsonWriterOptions CompactWriter = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>An array or object on one line, non-ASCII text kept as it is (a CSV cell is read by people).</summary>
    private static string Compact(JsonElement value)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, CompactWriter))
        {
            value.WriteTo(writer);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>The cell of one path in an answer; empty when the answer is not JSON or lacks the path.</summary>
    public static string Extract(string? answer, IReadOnlyList<string> path)
    {
        using var document = ParseAnswer(answer);
        return document is null ? "" : Cell(Find(document.RootElement, path));
    }

    /// <summary>
    /// The top-level properties a <c>response_format</c> of type <c>json_schema</c> declares, with their types, as the
    /// typed columns a job could export; empty for any other response format or a schema without properties.
    /// </summary>
    public static IReadOnlyList<AnswerFieldDto> DeclaredBy(string? responseFormat)
    {
        if (string.IsNullOrWhiteSpace(responseFormat))
        {
            return [];
        }
        try
        {
            using var document = JsonDocument.Parse(responseFormat);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type) || !type.ValueEquals("json_schema")
                || !root.TryGetProperty("json_schema", out var format) || format.ValueKind != JsonValueKind.Object
                || !format.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object
                || !schema.TryGetProperty("properties", out var properties) || properties.ValueKind != JsonValueKind.Object)
            {
                return [];
            }
            return properties.EnumerateObject()
                .Select(p => new AnswerFieldDto(Prefix + p.Name, p.Name, TypeOf(p.Value)))
                .ToList();
        }
        catch (JsonException)
        {
            return [];
        }
    }

    private static string TypeOf(JsonElement schema) =>
        schema.ValueKind != JsonValueKind.Object ? "any"
        : schema.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString()!
        : schema.TryGetProperty("type", out var types) && types.ValueKind == JsonValueKind.Array
            ? string.Join('|', types.EnumerateArray().Where(t => t.ValueKind == JsonValueKind.String).Select(t => t.GetString()))
        : schema.TryGetProperty("enum", out _) ? "enum"
        : "any";
}
