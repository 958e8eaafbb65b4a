using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace AspireBatch.Data.Domain;

/// <summary>
/// A prompt with `{{field}}` placeholders (dotted paths reach into nested objects). Rendering only substitutes
/// text: nothing in a template or a record is ever executed.
/// </summary>
public sealed partial class PromptTemplate
{
    private readonly string _text;
    private readonly IReadOnlyList<Match> _placeholders;

    private PromptTemplate(string text)
    {
        _text = text;
        _placeholders = Placeholder().Matches(text);
        Fields = _placeholders.Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).ToArray();
    }

    public IReadOnlyList<string> Fields { get; }

    public static PromptTemplate Parse(string? text) => new(text ?? "");

    public bool IsEmpty => _text.Length == 0;

    /// <summary>The placeholders the record has no value for.</summary>
    public IEnumerable<string> MissingFields(JsonElement record) => Fields.Where(f => !TryGet(record, f, out _));

    public string Render(JsonElement record)
    {
        if (_placeholders.Count == 0)
        {
            return _text;
        }
        var builder = new StringBuilder(_text.Length + 64);
        var position = 0;
        foreach (var match in _placeholders)
        {
            builder.Append(_text, position, match.Index - position);
            if (TryGet(record, match.Groups[1].Value, out var value))
            {
                builder.Append(value.ValueKind switch
                {
                    JsonValueKind.String => value.GetString(),
                    JsonValueKind.Null => "",
                    _ => value.GetRawText(),
                });
            }
            position = match.Index + match.Length;
        }
        builder.Append(_text, position, _text.Length - position);
        return builder.ToString();
    }

    private static bool TryGet(JsonElement record, string path, out JsonElement value)
    {
        value = record;
        foreach (var part in path.Split('.'))
        {
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(part, out value))
            {
                return false;
            }
        }
        return true;
    }

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*)\s*\}\}")]
    private static partial Regex Placeholder();
}
