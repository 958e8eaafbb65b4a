using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using CsvHelper;
using CsvHelper.Configuration;

namespace AspireBatch.Api.Services.Import;

/// <summary>Turns the lines of an upload into records, one format each; every problem names its line.</summary>
public static class RecordParsers
{
    public const int MaxIdLength = 512;
    /// <summary>The largest embeddings input list a batch line may send (OpenAI's limit per request).</summary>
    public const int MaxEmbeddingInputs = 2048;

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
                if (!document.RootElement.TryGetProperty(idField, out var id) || IdText(id) is not { } idText || string.IsNullOrWhiteSpace(idText))
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
            yield return new SourceRecord(number, root.GetProperty("custom_id").GetString(), body.GetRawText(), JsonDocument.Parse(body.GetRawText()), null)
            {
                Endpoint = JobEndpoints.Parse(root.GetProperty("url").GetString())!.Value,
            };
        }
    }

    /// <summary>
    /// Strict RFC 4180 CSV with a header. A quote problem stops the import at the line it starts on (what follows
    /// cannot be trusted); a record with the wrong number of fields is reported and reading goes on.
    /// </summary>
    public static async IAsyncEnumerable<SourceRecord> CsvAsync(Stream stream, string idField, ImportLimits limits, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var text = new CsvText(stream, limits, cancellationToken);
        if (await text.FirstLineAsync() is not { } firstLine)
        {
            yield break;
        }
        var (delimiter, delimiterError) = CsvDelimiter(firstLine);
        if (delimiter is null)
        {
            yield return SourceRecord.Invalid(text.CurrentRecordStart, delimiterError!);
            yield break;
        }
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture)
        {
            Delimiter = delimiter,
            DetectDelimiter = false,
            Mode = CsvMode.RFC4180,
            // CsvText ends every line with \n; a lone \r stays text, as LineReader sees it.
            NewLine = "\n",
            BadDataFound = args => throw BadCsvData(args, text),
            MaxFieldSize = limits.MaxLineBytes,
        };
        using var parser = new CsvParser(text, configuration, leaveOpen: true);
        var (headerLine, header) = await ReadCsvRecordAsync(parser, text, cancellationToken);
        if (header is null)
        {
            yield break;
        }
        if (CsvHeaderError(header, idField) is { } headerError)
        {
            yield return SourceRecord.Invalid(headerLine, headerError);
            yield break;
        }
        var idIndex = Array.IndexOf(header, idField);
        while (await ReadCsvRecordAsync(parser, text, cancellationToken) is (var line, { } fields))
        {
            if (fields.All(string.IsNullOrWhiteSpace))
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
        if (text.UnclosedQuoteLine is { } open)
        {
            // CsvHelper reports this as bad data; kept in case it ever stops doing so.
            throw new ImportAbortedException(open, UnclosedQuote);
        }
    }

    private const string UnclosedQuote =
        "a quoted field opens here and is never closed, so it would swallow the rest of the file: close it, or double the quote (\"\") if it is part of the text";

    /// <summary>The delimiter the header line uses: comma, semicolon or tab, counted outside quotes.</summary>
    internal static (string? Delimiter, string? Error) CsvDelimiter(string headerLine)
    {
        var seen = new List<char>();
        var quoted = false;
        foreach (var c in headerLine)
        {
            if (c == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && c is ',' or ';' or '\t' && !seen.Contains(c))
            {
                seen.Add(c);
            }
        }
        return seen.Count switch
        {
            0 => (",", null),
            1 => (seen[0].ToString(), null),
            _ => (null, $"the header mixes delimiters ({string.Join(" and ", seen.Select(DelimiterName))}): separate the columns with one of comma, semicolon or tab"),
        };
    }

    private static string DelimiterName(char c) => c switch { ',' => "comma", ';' => "semicolon", _ => "tab" };

    private static string? CsvHeaderError(string[] header, string idField)
    {
        if (Array.FindIndex(header, string.IsNullOrWhiteSpace) is var empty and >= 0)
        {
            return $"column {empty + 1} of the header has no name";
        }
        if (header.GroupBy(h => h).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            return $"the header names column \"{duplicate.Key}\" twice";
        }
        if (!header.Contains(idField))
        {
            return $"the header has no \"{idField}\" column (columns: {string.Join(", ", header)})";
        }
        return null;
    }

    /// <summary>The next record and the line it starts on; (0, null) at the end. CSV errors become <see cref="ImportAbortedException"/>.</summary>
    private static async Task<(int Line, string[]? Fields)> ReadCsvRecordAsync(CsvParser parser, CsvText text, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            if (!await parser.ReadAsync())
            {
                return (0, null);
            }
            return (text.TakeRecordStart(), parser.Record);
        }
        catch (Exception e) when (Unwrap(e) is ImportAbortedException aborted && aborted != e)
        {
            throw aborted;
        }
        catch (MaxFieldSizeException)
        {
            throw new ImportAbortedException(text.CurrentRecordStart, $"a field of the record starting here is longer than {parser.Configuration.MaxFieldSize:N0} characters");
        }
        catch (CsvHelperException e)
        {
            throw new ImportAbortedException(text.CurrentRecordStart, e.Message.Split('\n')[0]);
        }
    }

    private static Exception Unwrap(Exception e) => e is CsvHelperException { InnerException: { } inner } ? Unwrap(inner) : e;

    /// <summary>Says what is wrong with a field CsvHelper found bad, on the line where the trouble starts.</summary>
    private static ImportAbortedException BadCsvData(BadDataFoundArgs args, CsvText text)
    {
        var field = args.Field;
        var raw = args.RawRecord ?? "";
        // RawRecord may still lack the end of the field; its first line is there.
        var at = raw.LastIndexOf(field.Split('\n')[0], StringComparison.Ordinal);
        var fieldLine = text.CurrentRecordStart + (at > 0 ? raw.AsSpan(0, at).Count('\n') : 0);
        if (!field.StartsWith('"'))
        {
            return new ImportAbortedException(fieldLine,
                $"a quote inside a field that does not start with one ({Excerpt(field)}): quote the whole field and double the quotes inside it (\"ab\"\"c\")");
        }
        var close = 1;
        while (close < field.Length && !(field[close] == '"' && (close + 1 == field.Length || field[close + 1] != '"')))
        {
            close += field[close] == '"' ? 2 : 1;
        }
        if (close >= field.Length)
        {
            return new ImportAbortedException(text.UnclosedQuoteLine ?? fieldLine, UnclosedQuote);
        }
        var closeLine = fieldLine + field.AsSpan(0, close).Count('\n');
        return closeLine == fieldLine
            ? new ImportAbortedException(fieldLine,
                $"text after the closing quote of a field ({Excerpt(field)}): a quote inside a quoted field must be doubled (\"\")")
            : new ImportAbortedException(fieldLine,
                $"a quoted field opens here and closes on line {closeLine}, followed by text ({Excerpt(field[(close + 1)..])}): a closing quote is probably missing on line {fieldLine}");
    }

    private static string Excerpt(string text)
    {
        var line = text.Split('\n')[0];
        return line.Length > 40 ? line[..40] + "..." : line;
    }

    /// <summary>Why an OpenAI Batch input line is not acceptable, or null when it is.</summary>
    /// <summary>
    /// An embeddings line's body: <c>input</c> a non-empty string or a list of 1 to 2,048 non-empty strings (token-id
    /// inputs are refused: the estimate and the dedup key read text); <c>dimensions</c> a positive integer;
    /// <c>encoding_format</c> float or base64.
    /// </summary>
    private static string? EmbeddingsBodyError(JsonElement body)
    {
        if (!body.TryGetProperty("input", out var input))
        {
            return "\"body.input\" is required for /v1/embeddings";
        }
        var inputOk = input.ValueKind switch
        {
            JsonValueKind.String => input.GetString() is { Length: > 0 },
            JsonValueKind.Array => input.GetArrayLength() is > 0 and <= MaxEmbeddingInputs
                && input.EnumerateArray().All(i => i.ValueKind == JsonValueKind.String && i.GetString() is { Length: > 0 }),
            _ => false,
        };
        if (!inputOk)
        {
            return $"\"body.input\" must be a non-empty string or a list of 1 to {MaxEmbeddingInputs:N0} non-empty strings";
        }
        if (body.TryGetProperty("dimensions", out var dimensions) && !(dimensions.TryGetInt32(out var d) && d is >= 1 and <= ImportChecks.MaxDimensions))
        {
            return $"\"body.dimensions\" must be an integer between 1 and {ImportChecks.MaxDimensions:N0}";
        }
        if (body.TryGetProperty("encoding_format", out var encoding)
            && (encoding.ValueKind != JsonValueKind.String || encoding.GetString() is not ("float" or "base64")))
        {
            return "\"body.encoding_format\" must be \"float\" or \"base64\"";
        }
        return null;
    }

    private static string? BatchLineError(JsonElement root)
    {
        if (!root.TryGetProperty("custom_id", out var customId) || customId.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(customId.GetString()))
        {
            return "missing \"custom_id\" (a non-empty string)";
        }
        if (!root.TryGetProperty("method", out var method) || method.ValueKind != JsonValueKind.String || method.GetString() != "POST")
        {
            return "\"method\" must be \"POST\"";
        }
        if (!root.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String
            || url.GetString() is not (JobEndpoints.ChatCompletionsPath or JobEndpoints.EmbeddingsPath))
        {
            return $"\"url\" must be \"{JobEndpoints.ChatCompletionsPath}\" or \"{JobEndpoints.EmbeddingsPath}\"";
        }
        if (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
        {
            return "\"body\" must be a JSON object";
        }
        if (!body.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String || model.GetString() is not { Length: > 0 })
        {
            return "\"body.model\" must be a non-empty string";
        }
        if (url.GetString() == JobEndpoints.EmbeddingsPath)
        {
            return EmbeddingsBodyError(body);
        }
        if (!body.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array || messages.GetArrayLength() == 0)
        {
            return "\"body.messages\" must be a non-empty array";
        }
        var index = 0;
        foreach (var message in messages.EnumerateArray())
        {
            if (MessageError(message) is { } messageError)
            {
                return $"\"body.messages[{index}]\" {messageError}";
            }
            index++;
        }
        foreach (var name in new[] { "max_tokens", "max_completion_tokens" })
        {
            if (body.TryGetProperty(name, out var cap) && !(cap.ValueKind == JsonValueKind.Number && cap.TryGetInt32(out var value) && value is >= 1 and <= 1_000_000))
            {
                return $"\"body.{name}\" must be an integer between 1 and 1,000,000";
            }
        }
        if (body.TryGetProperty("response_format", out var responseFormat) && AnswerSchema.FromResponseFormat(responseFormat).Error is { } schemaError)
        {
            return $"\"body.response_format\": {schemaError}";
        }
        return null;
    }

    /// <summary>What the importer and the Worker need of a chat message: an object with a role and text content.</summary>
    private static string? MessageError(JsonElement message)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            return "must be an object with \"role\" and \"content\"";
        }
        if (!message.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(role.GetString()))
        {
            return "needs a \"role\" (a non-empty string)";
        }
        if (!message.TryGetProperty("content", out var content) || content.ValueKind is JsonValueKind.String or JsonValueKind.Null)
        {
            return null;
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return "has \"content\" that is neither a string nor an array of parts";
        }
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind != JsonValueKind.Object || (part.TryGetProperty("text", out var text) && text.ValueKind != JsonValueKind.String))
            {
                return "has a content part that is not an object with a string \"text\"";
            }
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
