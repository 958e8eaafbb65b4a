using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using CsvHelper;
using CsvHelper.Configuration;

namespace AspireBatch.Api.Services.Import;

/// <summary>Turns the lines of an upload into records, one format each; every problem names its line.</summary>
public static class RecordParsers
{
    public const int MaxIdLength = 512;
    public const string BatchUrl = "/v1/chat/completions";

    public static async IAsyncEnumerable<SourceRecord> JsonlAsync(Stream stream, string idField, ImportLimits limits, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (number, bytes) in LineReader.ReadAsync(stream, limits, cancellationToken))
        {
            if (IsBlank(bytes))
            {
                continue;
            }
            if (ParseObject(number, bytes) is { Error: not null } invalid)
            {
                yield return invalid;
                continue;
            }
            else
            {
                var document = JsonDocument.Parse(bytes);
                if (!document.RootElement.TryGetProperty(idField, out var id) || IdText(id) is not { Length: > 0 } idText)
                {
                    document.Dispose();
                    yield return SourceRecord.Invalid(number, $"missing \"{idField}\" (a non-empty string or number)");
                    continue;
                }
                yield return new SourceRecord(number, idText, Encoding.UTF8.GetString(bytes), document, null);
            }
        }
    }

    public static async IAsyncEnumerable<SourceRecord> OpenAiBatchAsync(Stream stream, ImportLimits limits, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var (number, bytes) in LineReader.ReadAsync(stream, limits, cancellationToken))
        {
            if (IsBlank(bytes))
            {
                continue;
            }
            if (ParseObject(number, bytes) is { Error: not null } invalid)
            {
                yield return invalid;
                continue;
            }
            using var line = JsonDocument.Parse(bytes);
            var root = line.RootElement;
            var error = BatchLineError(root);
            if (error is not null)
            {
                yield return SourceRecord.Invalid(number, error);
                continue;
            }
            var body = root.GetProperty("body");
            yield return new SourceRecord(number, root.GetProperty("custom_id").GetString(), body.GetRawText(), JsonDocument.Parse(body.GetRawText()), null);
        }
    }

    public static async IAsyncEnumerable<SourceRecord> CsvAsync(Stream stream, string idField, ImportLimits limits, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var text = new StreamReader(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false);
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            DetectDelimiter = true,
            BadDataFound = null,
            MaxFieldSize = limits.MaxLineBytes,
        };
        using var csv = new CsvReader(text, configuration);
        string[] header;
        string? headerError = null;
        try
        {
            if (!await csv.ReadAsync() || !csv.ReadHeader() || csv.HeaderRecord is not { Length: > 0 } read)
            {
                yield break;
            }
            header = read;
            if (header.Length > 0 && header[0].StartsWith('\uFEFF'))
            {
                header[0] = header[0][1..];
            }
        }
        catch (DecoderFallbackException)
        {
            throw new ImportAbortedException(1, "line 1 is not valid UTF-8; save the file as UTF-8");
        }
        if (!header.Contains(idField))
        {
            headerError = $"the header has no \"{idField}\" column (columns: {string.Join(", ", header)})";
        }
        else if (header.GroupBy(h => h).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            headerError = $"the header names column \"{duplicate.Key}\" twice";
        }
        if (headerError is not null)
        {
            yield return SourceRecord.Invalid(1, headerError);
            yield break;
        }
        var idIndex = Array.IndexOf(header, idField);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            string[]? fields;
            int line;
            try
            {
                if (!await csv.ReadAsync())
                {
                    break;
                }
                line = csv.Parser.RawRow;
                fields = csv.Parser.Record;
            }
            catch (DecoderFallbackException)
            {
                throw new ImportAbortedException(csv.Parser.RawRow + 1, $"line {csv.Parser.RawRow + 1} is not valid UTF-8; save the file as UTF-8");
            }
            catch (CsvHelperException e)
            {
                throw new ImportAbortedException(csv.Parser.RawRow, $"line {csv.Parser.RawRow}: {e.Message.Split('\n')[0]}");
            }
            if (fields is null || fields.All(string.IsNullOrWhiteSpace))
            {
                continue;
            }
            if (fields.Length != header.Length)
            {
                yield return SourceRecord.Invalid(line, $"expected {header.Length} fields as in the header, found {fields.Length}");
                continue;
            }
            if (fields[idIndex].Trim() is not { Length: > 0 } id)
            {
                yield return SourceRecord.Invalid(line, $"missing \"{idField}\"");
                continue;
            }
            if (fields.Any(f => f.Contains('\0')))
            {
                yield return SourceRecord.Invalid(line, "contains a NUL character, which cannot be stored");
                continue;
            }
            var payload = ToJsonObject(header, fields);
            yield return new SourceRecord(line, id, payload, JsonDocument.Parse(payload), null);
        }
    }

    /// <summary>Why an OpenAI Batch input line is not acceptable, or null when it is.</summary>
    private static string? BatchLineError(JsonElement root)
    {
        if (!root.TryGetProperty("custom_id", out var customId) || customId.ValueKind != JsonValueKind.String || customId.GetString() is not { Length: > 0 })
        {
            return "missing \"custom_id\" (a non-empty string)";
        }
        if (!root.TryGetProperty("method", out var method) || method.ValueKind != JsonValueKind.String || method.GetString() != "POST")
        {
            return "\"method\" must be \"POST\"";
        }
        if (!root.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String || url.GetString() != BatchUrl)
        {
            return $"\"url\" must be \"{BatchUrl}\" (only chat completions are supported)";
        }
        if (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
        {
            return "\"body\" must be a JSON object";
        }
        if (!body.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String || model.GetString() is not { Length: > 0 })
        {
            return "\"body.model\" must be a non-empty string";
        }
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            return "\"body.messages\" must be a non-empty array";
        }
        return null;
    }

    private static SourceRecord ParseObject(int number, byte[] bytes)
    {
        if (!Utf8.IsValid(bytes))
        {
            return SourceRecord.Invalid(number, "not valid UTF-8; save the file as UTF-8");
        }
        if (bytes.AsSpan().IndexOf("\\u0000"u8) >= 0)
        {
            return SourceRecord.Invalid(number, "contains \\u0000, which cannot be stored");
        }
        try
        {
            var reader = new Utf8JsonReader(bytes);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return SourceRecord.Invalid(number, "a line must be one JSON object");
            }
            reader.Skip();
            if (reader.Read())
            {
                return SourceRecord.Invalid(number, "malformed JSON: more than one value on the line");
            }
            return new SourceRecord(number, null, null, null, null);
        }
        catch (JsonException e)
        {
            return SourceRecord.Invalid(number, $"malformed JSON: {e.Message.Split(" Path:")[0].Split(" LineNumber:")[0]}");
        }
    }

    private static string? IdText(JsonElement id) => id.ValueKind switch
    {
        JsonValueKind.String => id.GetString(),
        JsonValueKind.Number => id.GetRawText(),
        _ => null,
    };

    private static bool IsBlank(byte[] bytes) => bytes.AsSpan().Trim(" \t\r"u8).IsEmpty;

    private static string ToJsonObject(string[] header, string[] fields)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            for (var i = 0; i < header.Length; i++)
            {
                writer.WriteString(header[i], fields[i]);
            }
            writer.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
