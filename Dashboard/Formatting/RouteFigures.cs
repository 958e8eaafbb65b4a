using System.Text.Json;

namespace AspireBatch.Dashboard.Formatting;

/// <summary>The figures stored with a route switch (JSON), as one short line an operator reads at a glance.</summary>
public static class RouteFigures
{
    /// <summary>"360 calls · 40 failed (11.1%) · mean 159 ms · p95 750 ms · last 5m 00s"; "" for manual switches; the raw text when it is not known JSON.</summary>
    public static string Describe(string? figures)
    {
        if (string.IsNullOrWhiteSpace(figures))
        {
            return "";
        }
        try
        {
            using var document = JsonDocument.Parse(figures);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return figures;
            }
            if (root.TryGetProperty("manual", out var manual) && manual.ValueKind == JsonValueKind.True)
            {
                return "";
            }
            var parts = new List<string>();
            if (Number(root, "calls") is { } calls)
            {
                parts.Add($"{Format.Number(calls)} calls");
            }
            if (Number(root, "errors") is { } errors)
            {
                parts.Add(Number(root, "errorRate") is { } rate ? $"{Format.Number(errors)} failed ({Format.Percent(rate)})" : $"{Format.Number(errors)} failed");
            }
            if (Number(root, "meanLatencyMs") is { } mean)
            {
                parts.Add($"mean {Format.Latency(mean)}");
            }
            if (Number(root, "p95LatencyMs") is { } p95)
            {
                parts.Add($"p95 {Format.Latency(p95)}");
            }
            if (Number(root, "windowSeconds") is { } window)
            {
                parts.Add($"last {Format.Duration(window)}");
            }
            return parts.Count > 0 ? string.Join(" · ", parts) : figures;
        }
        catch (JsonException)
        {
            return figures;
        }
    }

    private static double? Number(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
}
