using System.Globalization;
using System.IO.Compression;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace AspireBatch.Simulator.Services;

/// <summary>
/// One recorded response shape of a real provider (or of what sits in front of it), from <c>Corpus/&lt;name&gt;.json</c>.
/// <see cref="Body"/> is sent as is after its placeholders are filled (see <see cref="ResponseCorpus.Fill"/>).
/// </summary>
public sealed record CorpusEntry(
    string Name,
    string Provider,
    string Source,
    string Notes,
    int Status,
    IReadOnlyDictionary<string, string> Headers,
    string Body,
    bool Gzip = false)
{
    /// <summary>The body reports the request's prompt tokens: a replay counts them as served.</summary>
    [JsonIgnore]
    public bool ReportsPromptTokens => Body.Contains("{{prompt_tokens}}", StringComparison.Ordinal);

    /// <summary>The body reports the request's completion tokens: a replay counts them as served.</summary>
    [JsonIgnore]
    public bool ReportsCompletionTokens => Body.Contains("{{completion_tokens}}", StringComparison.Ordinal);
}

/// <summary>What fills a corpus body's placeholders: the simulator's normal answer for the request.</summary>
public sealed record CorpusValues(string Id, long Created, string Model, string Content, int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>
/// The corpus of provider response shapes, embedded in the assembly (so it is there however the simulator is hosted),
/// loaded and checked once. A bad entry stops the simulator at start with the entry's name.
/// </summary>
public sealed partial class ResponseCorpus
{
    public const string ResourcePrefix = "AspireBatch.Simulator.Corpus.";

    private static readonly Lazy<ResponseCorpus> LazyDefault = new(() => Load(typeof(ResponseCorpus).Assembly));
    private static readonly JsonSerializerOptions EntryJson = new(JsonSerializerDefaults.Web) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };
    private static readonly JsonSerializerOptions StringJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly Dictionary<string, CorpusEntry> _byName;

    public ResponseCorpus(IEnumerable<CorpusEntry> entries)
    {
        Entries = [.. entries.OrderBy(e => e.Name, StringComparer.Ordinal)];
        _byName = new Dictionary<string, CorpusEntry>(StringComparer.Ordinal);
        foreach (var entry in Entries)
        {
            if (!_byName.TryAdd(entry.Name, entry))
            {
                throw new InvalidOperationException($"Corpus entry '{entry.Name}' appears twice.");
            }
        }
    }

    /// <summary>The corpus embedded in the simulator.</summary>
    public static ResponseCorpus Default => LazyDefault.Value;

    /// <summary>Every entry, by name (ordinal order).</summary>
    public IReadOnlyList<CorpusEntry> Entries { get; }

    public bool Contains(string name) => _byName.ContainsKey(name);

    public bool TryGet(string name, out CorpusEntry entry) => _byName.TryGetValue(name, out entry!);

    /// <summary>Loads <c>Corpus/*.json</c> from the embedded resources of <paramref name="assembly"/>.</summary>
    public static ResponseCorpus Load(Assembly assembly)
    {
        var entries = new List<CorpusEntry>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal) && r.EndsWith(".json", StringComparison.Ordinal)))
        {
            var fileName = resource[ResourcePrefix.Length..^".json".Length];
            using var stream = assembly.GetManifestResourceStream(resource)!;
            CorpusEntry? entry;
            try
            {
                entry = JsonSerializer.Deserialize<CorpusEntry>(stream, EntryJson);
            }
            catch (JsonException ex)
            {
                throw new InvalidOperationException($"Corpus file '{fileName}.json' is not a valid entry: {ex.Message}", ex);
            }

            entries.Add(Check(entry, fileName));
        }

        return new ResponseCorpus(entries);
    }

    /// <summary>
    /// Fills <c>{{id}}</c>, <c>{{created}}</c>, <c>{{model}}</c>, <c>{{content}}</c>, <c>{{prompt_tokens}}</c>,
    /// <c>{{completion_tokens}}</c> and <c>{{total_tokens}}</c> in one pass (filled text is not scanned again).
    /// <c>{{model}}</c> and <c>{{content}}</c> are JSON-string-escaped, without the quotes.
    /// </summary>
    public static string Fill(string template, CorpusValues values) =>
        Placeholder().Replace(template, match => match.Groups[1].Value switch
        {
            "id" => values.Id,
            "created" => values.Created.ToString(CultureInfo.InvariantCulture),
            "model" => JsonStringContent(values.Model),
            "content" => JsonStringContent(values.Content),
            "prompt_tokens" => values.PromptTokens.ToString(CultureInfo.InvariantCulture),
            "completion_tokens" => values.CompletionTokens.ToString(CultureInfo.InvariantCulture),
            _ => values.TotalTokens.ToString(CultureInfo.InvariantCulture),
        });

    /// <summary>The bytes a replay of <paramref name="entry"/> sends: the filled body in UTF-8, gzipped when the entry says so.</summary>
    public static byte[] Render(CorpusEntry entry, CorpusValues values)
    {
        var bytes = Encoding.UTF8.GetBytes(Fill(entry.Body, values));
        if (!entry.Gzip)
        {
            return bytes;
        }

        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return compressed.ToArray();
    }

    private static string JsonStringContent(string value)
    {
        var quoted = JsonSerializer.Serialize(value, StringJson);
        return quoted[1..^1];
    }

    private static CorpusEntry Check(CorpusEntry? entry, string fileName)
    {
        string? problem = entry switch
        {
            null => "is empty",
            { Name: null or "" } => "has no name",
            _ when entry.Name != fileName => $"is named '{entry.Name}'",
            { Provider: null or "" } => "has no provider",
            _ when !Uri.TryCreate(entry.Source, UriKind.Absolute, out var source) || source.Scheme != Uri.UriSchemeHttps => "has no https source URL",
            { Notes: null or "" } => "has no notes",
            { Status: < 200 or > 599 } => $"has status {entry.Status}",
            { Headers: null } => "has no headers object",
            { Body: null } => "has no body",
            _ when entry.Headers.Keys.Any(h => h.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || h.Equals("Content-Encoding", StringComparison.OrdinalIgnoreCase))
                => "sets Content-Length or Content-Encoding (the simulator sets them)",
            _ when entry.Body.Length > 0 && !entry.Headers.Keys.Any(h => h.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) => "has a body but no Content-Type",
            _ => null,
        };

        return problem is null ? entry! : throw new InvalidOperationException($"Corpus file '{fileName}.json' {problem}.");
    }

    [GeneratedRegex(@"\{\{(id|created|model|content|prompt_tokens|completion_tokens|total_tokens)\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
