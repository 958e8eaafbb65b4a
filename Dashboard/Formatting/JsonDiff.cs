using System.Text.Json;

namespace AspireBatch.Dashboard.Formatting;

/// <summary>One line of pretty-printed JSON; <see cref="Path"/> is set on a line that holds a value (models[0].inputPricePerMTok).</summary>
public sealed record JsonLine(int Depth, string Text, string? Path, bool Changed);

/// <summary>
/// What the Audit page shows of a change: before and after as indented JSON lines, and the values that differ between
/// them (by path: a value changed, added or removed). Arrays are compared by position.
/// </summary>
public static class JsonDiff
{
    /// <summary>
    /// The paths of the values that differ, in the order they come (before's, then what after added); none when one
    /// side is missing (a creation or a deletion changes everything).
    /// </summary>
    public static IReadOnlyList<string> ChangedPaths(JsonElement? before, JsonElement? after)
    {
        if (before is not { } b || after is not { } a || b.ValueKind == JsonValueKind.Null || a.ValueKind == JsonValueKind.Null)
        {
            return [];
        }
        var old = Values(b);
        var now = Values(a);
        var nowByPath = now.ToDictionary(v => v.Path, v => v.Json, StringComparer.Ordinal);
        var oldPaths = old.Select(v => v.Path).ToHashSet(StringComparer.Ordinal);
        return
        [
            .. old.Where(v => !nowByPath.TryGetValue(v.Path, out var json) || json != v.Json).Select(v => v.Path),
            .. now.Where(v => !oldPaths.Contains(v.Path)).Select(v => v.Path),
        ];
    }

    /// <summary>The top-level properties a change touched, in order: what a row of the Audit page lists.</summary>
    public static IReadOnlyList<string> ChangedProperties(IEnumerable<string> changedPaths) =>
        changedPaths.Select(path => path.Split('.', '[')[0]).Where(p => p.Length > 0).Distinct(StringComparer.Ordinal).ToList();

    /// <summary>Every value with its path, in document order: leaves, and empty objects and arrays, as their JSON text.</summary>
    public static List<(string Path, string Json)> Values(JsonElement element)
    {
        var values = new List<(string, string)>();
        Walk(element, "", values);
        return values;
    }

    /// <summary><paramref name="element"/> indented two spaces a level, each line with a value marked when its path is in <paramref name="changed"/>.</summary>
    public static IReadOnlyList<JsonLine> Lines(JsonElement? element, IEnumerable<string> changed)
    {
        var lines = new List<JsonLine>();
        if (element is { } root)
        {
            Render(root, null, "", 0, last: true, changed.ToHashSet(StringComparer.Ordinal), lines);
        }
        return lines;
    }

    private static void Walk(JsonElement element, string path, List<(string, string)> values)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object when element.EnumerateObject().Any():
                foreach (var property in element.EnumerateObject())
                {
                    Walk(property.Value, Child(path, property.Name), values);
                }
                break;
            case JsonValueKind.Array when element.GetArrayLength() > 0:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Walk(item, $"{path}[{index++}]", values);
                }
                break;
            default:
                values.Add((path, element.GetRawText()));
                break;
        }
    }

    private static void Render(JsonElement element, string? name, string path, int depth, bool last, IReadOnlySet<string> changed, List<JsonLine> lines)
    {
        var prefix = new string(' ', depth * 2) + (name is null ? "" : JsonSerializer.Serialize(name) + ": ");
        var comma = last ? "" : ",";
        switch (element.ValueKind)
        {
            case JsonValueKind.Object when element.EnumerateObject().Any():
                lines.Add(new JsonLine(depth, prefix + "{", null, false));
                var properties = element.EnumerateObject().ToList();
                for (var i = 0; i < properties.Count; i++)
                {
                    Render(properties[i].Value, properties[i].Name, Child(path, properties[i].Name), depth + 1, i == properties.Count - 1, changed, lines);
                }
                lines.Add(new JsonLine(depth, new string(' ', depth * 2) + "}" + comma, null, false));
                break;
            case JsonValueKind.Array when element.GetArrayLength() > 0:
                lines.Add(new JsonLine(depth, prefix + "[", null, false));
                var items = element.EnumerateArray().ToList();
                for (var i = 0; i < items.Count; i++)
                {
                    Render(items[i], null, $"{path}[{i}]", depth + 1, i == items.Count - 1, changed, lines);
                }
                lines.Add(new JsonLine(depth, new string(' ', depth * 2) + "]" + comma, null, false));
                break;
            default:
                lines.Add(new JsonLine(depth, prefix + element.GetRawText() + comma, path, changed.Contains(path)));
                break;
        }
    }

    private static string Child(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";
}
