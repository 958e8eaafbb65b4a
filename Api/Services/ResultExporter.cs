using System.Globalization;
using System.Text;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using CsvHelper;
using Npgsql;

namespace AspireBatch.Api.Services;

public enum ExportFormat { Jsonl, OpenAi, Csv }

/// <summary>
/// A field an export adds: a record field by its name (CSV only, the older meaning of <c>fields=</c>), or with
/// <see cref="AnswerPath"/> a typed column read from the answer (<c>answer.sentiment</c>; CSV and JSONL).
/// </summary>
public sealed record ExportField(string Name, string[]? AnswerPath);

/// <summary>
/// Streams a job's results row by row from Postgres to the response; a million items never sit in memory. A stored
/// body is whatever the provider sent (HTML, plain text, an event stream): it is only written raw where it is JSON.
/// </summary>
public sealed class ResultExporter(NpgsqlDataSource dataSource)
{
    private const string Query = """
        SELECT i.id, i.custom_id, i.line_number, i.state, i.payload::text, i.response_text, i.response_body, i.finish_reason,
               i.input_tokens, i.output_tokens, i.cost_usd, i.latency_ms, p.name, i.model_name, i.response_model, i.attempts,
               i.status_code, i.error_code, i.error_message, i.usage_source, i.cached_input_tokens, i.reasoning_tokens,
               i.in_doubt_calls, i.in_doubt_cost_usd, i.response_id, i.route_position, i.result_attempt,
               i.duplicate_of, d.custom_id, i.embedding, i.embedding_dimensions, i.cached_from, i.provider_batch_id
        FROM items i LEFT JOIN providers p ON p.id = i.provider_id LEFT JOIN items d ON d.id = i.duplicate_of
        WHERE i.job_id = @job AND (cardinality(@states) = 0 OR i.state = ANY(@states))
        ORDER BY i.id
        """;

    // The job's half of the lineage, the same on every line: read once, not joined into each row.
    private const string JobLineageQuery = """
        SELECT j.id, j.template_hash, j.parameters_hash, j.requested_model, r.name
        FROM jobs j LEFT JOIN routes r ON r.id = j.route_id
        WHERE j.id = @job
        """;

    private sealed record JobLineage(Guid JobId, string? TemplateHash, string? ParametersHash, string RequestedModel, string? RouteName);

    /// <summary>The CSV columns <c>lineage=true</c> adds; usage_source is already a column of every CSV.</summary>
    public static readonly IReadOnlyList<string> CsvLineageColumns =
        ["job_id", "template_hash", "parameters_hash", "route", "route_position", "provider", "requested_model", "response_model", "response_id", "attempt",
         "deduplicated_from", "cached_from"];

    /// <param name="lineage">Adds where each result came from (JSONL: a <c>lineage</c> object after <c>record</c>; CSV: <see cref="CsvLineageColumns"/> at the end); not for the OpenAI format, whose shape is OpenAI's.</param>
    /// <param name="fields">CSV: columns after <c>id</c>, in the order given. JSONL: the answer fields only, as an
    /// <c>answer_fields</c> object after <c>answer</c> (absent when none are asked, so the default line is unchanged).</param>
    public async Task WriteAsync(Stream output, Guid jobId, ExportFormat format, IReadOnlyList<ExportField> fields, ItemState[] states, bool lineage,
        CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var job = lineage && format != ExportFormat.OpenAi ? await ReadJobLineageAsync(connection, jobId, cancellationToken) : null;
        var embeddings = await IsEmbeddingsJobAsync(connection, jobId, cancellationToken);
        await using var command = new NpgsqlCommand(Query, connection);
        command.Parameters.AddWithValue("job", jobId);
        command.Parameters.AddWithValue("states", states.Select(s => (int)s).ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (format == ExportFormat.Csv)
        {
            await WriteCsvAsync(output, reader, fields, job, embeddings, cancellationToken);
            return;
        }
        var answerFields = fields.Where(f => f.AnswerPath is not null).ToList();
        var buffer = new MemoryStream();
        while (await reader.ReadAsync(cancellationToken))
        {
            buffer.SetLength(0);
            await using (var json = new Utf8JsonWriter(buffer))
            {
                if (format == ExportFormat.OpenAi)
                {
                    WriteOpenAiLine(json, reader);
                }
                else
                {
                    WriteResultLine(json, reader, job, answerFields);
                }
            }
            buffer.WriteByte((byte)'\n');
            await output.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken);
        }
    }

    private static async Task<bool> IsEmbeddingsJobAsync(NpgsqlConnection connection, Guid jobId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT endpoint FROM jobs WHERE id = @job", connection);
        command.Parameters.AddWithValue("job", jobId);
        return await command.ExecuteScalarAsync(cancellationToken) is int endpoint && (JobEndpoint)endpoint == JobEndpoint.Embeddings;
    }

    /// <summary>A record's vectors, or null for a record without any (a chat record, or one that failed).</summary>
    private static float[][]? VectorsOf(NpgsqlDataReader r) =>
        r.IsDBNull(29) || r.IsDBNull(30) ? null : Embeddings.Unpack(r.GetFieldValue<byte[]>(29), r.GetInt32(30));

    /// <summary>JSONL: <c>embedding</c>, the vector, for a record with one input; <c>embeddings</c>, the list, for a batch line that sent several.</summary>
    private static void WriteVectors(Utf8JsonWriter json, float[][] vectors)
    {
        if (vectors.Length == 1)
        {
            json.WritePropertyName("embedding");
            Embeddings.WriteArray(json, vectors[0]);
            return;
        }
        json.WriteStartArray("embeddings");
        foreach (var vector in vectors)
        {
            Embeddings.WriteArray(json, vector);
        }
        json.WriteEndArray();
    }

    private static async Task<JobLineage?> ReadJobLineageAsync(NpgsqlConnection connection, Guid jobId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(JobLineageQuery, connection);
        command.Parameters.AddWithValue("job", jobId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new JobLineage(reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.GetString(3), reader.IsDBNull(4) ? null : reader.GetString(4))
            : null;
    }

    private static void WriteResultLine(Utf8JsonWriter json, NpgsqlDataReader r, JobLineage? job, IReadOnlyList<ExportField> answerFields)
    {
        json.WriteStartObject();
        json.WriteString("id", r.GetString(1));
        json.WriteNumber("line", r.GetInt32(2));
        json.WriteString("state", ((ItemState)r.GetInt32(3)).ToString().ToLowerInvariant());
        WriteNullableString(json, "answer", r, 5);
        if (VectorsOf(r) is { } vectors)
        {
            WriteVectors(json, vectors);
        }
        if (answerFields.Count > 0)
        {
            // Keyed by the path without "answer.", valued as in the answer (a list stays a list); null when absent.
            using var answer = AnswerFields.ParseAnswer(r.IsDBNull(5) ? null : r.GetString(5));
            json.WriteStartObject("answer_fields");
            foreach (var field in answerFields)
            {
                json.WritePropertyName(field.Name[AnswerFields.Prefix.Length..]);
                if (answer is not null && AnswerFields.Find(answer.RootElement, field.AnswerPath!) is { } value)
                {
                    value.WriteTo(json);
                }
                else
                {
                    json.WriteNullValue();
                }
            }
            json.WriteEndObject();
        }
        WriteNullableString(json, "finish_reason", r, 7);
        WriteNullableNumber(json, "input_tokens", r, 8);
        WriteNullableNumber(json, "output_tokens", r, 9);
        if (r.IsDBNull(10)) json.WriteNull("cost_usd"); else json.WriteNumber("cost_usd", r.GetDecimal(10));
        WriteNullableNumber(json, "latency_ms", r, 11);
        WriteNullableString(json, "provider", r, 12);
        WriteNullableString(json, "model", r, 13);
        WriteNullableString(json, "response_model", r, 14);
        WriteNullableString(json, "usage_source", r, 19);
        WriteNullableNumber(json, "cached_input_tokens", r, 20);
        WriteNullableNumber(json, "reasoning_tokens", r, 21);
        json.WriteNumber("attempts", r.GetInt32(15));
        json.WriteNumber("in_doubt_calls", r.GetInt32(22));
        json.WriteNumber("in_doubt_cost_usd", r.GetDecimal(23));
        if (r.IsDBNull(17))
        {
            json.WriteNull("error");
        }
        else
        {
            json.WriteStartObject("error");
            json.WriteString("code", r.GetString(17));
            WriteNullableString(json, "message", r, 18);
            json.WriteEndObject();
        }
        json.WritePropertyName("record");
        json.WriteRawValue(r.GetString(4));
        if (job is not null)
        {
            json.WriteStartObject("lineage");
            json.WriteString("job_id", job.JobId);
            WriteNullableString(json, "template_hash", job.TemplateHash);
            WriteNullableString(json, "parameters_hash", job.ParametersHash);
            WriteNullableString(json, "route", job.RouteName);
            WriteNullableNumber(json, "route_position", r, 25);
            WriteNullableString(json, "provider", r, 12);
            json.WriteString("requested_model", job.RequestedModel);
            WriteNullableString(json, "response_model", r, 14);
            WriteNullableString(json, "response_id", r, 24);
            WriteNullableNumber(json, "attempt", r, 26);
            WriteNullableString(json, "usage_source", r, 19);
            // A duplicate took this record's answer: the record of the job that was sent and paid.
            if (r.IsDBNull(27))
            {
                json.WriteNull("deduplicated_from");
            }
            else
            {
                json.WriteStartObject("deduplicated_from");
                json.WriteString("id", r.GetString(28));
                json.WriteNumber("item_id", r.GetInt64(27));
                json.WriteEndObject();
            }
            // The response cache gave this record the answer of an earlier job's record.
            WriteNullableNumber(json, "cached_from", r, 31);
            // A record answered through the provider's native batch names it (absent for real-time results, so their lines are unchanged).
            if (!r.IsDBNull(32))
            {
                json.WriteString("provider_batch_id", r.GetGuid(32));
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    /// <summary>
    /// OpenAI's batch output line: {"id","custom_id","response":{"status_code","request_id","body"},"error"}. The body
    /// is the provider's JSON as sent; an answer that was not JSON (an event stream) is written as the chat completion
    /// it was read as, and an error page that was not JSON as an OpenAI error object holding its text.
    /// </summary>
    public static void WriteOpenAiLine(Utf8JsonWriter json, NpgsqlDataReader r)
    {
        var itemId = r.GetInt64(0);
        var state = (ItemState)r.GetInt32(3);
        var body = r.IsDBNull(6) ? null : r.GetString(6);
        json.WriteStartObject();
        json.WriteString("id", $"batch_req_{itemId:x16}");
        json.WriteString("custom_id", r.GetString(1));
        if (state == ItemState.Succeeded)
        {
            json.WriteStartObject("response");
            json.WriteNumber("status_code", r.IsDBNull(16) ? 200 : r.GetInt32(16));
            json.WriteString("request_id", $"req_{itemId:x16}");
            json.WritePropertyName("body");
            if (VectorsOf(r) is { } vectors)
            {
                WriteEmbeddingList(json, r, vectors);
            }
            else if (!TryWriteJsonObject(json, body))
            {
                WriteCompletion(json, r, itemId);
            }
            json.WriteEndObject();
            json.WriteNull("error");
        }
        else
        {
            if (r.IsDBNull(16))
            {
                json.WriteNull("response");
            }
            else
            {
                json.WriteStartObject("response");
                json.WriteNumber("status_code", r.GetInt32(16));
                json.WriteString("request_id", $"req_{itemId:x16}");
                json.WritePropertyName("body");
                if (!TryWriteJsonObject(json, body))
                {
                    json.WriteStartObject();
                    json.WriteStartObject("error");
                    json.WriteString("message", body is { Length: > 0 } ? body : r.IsDBNull(18) ? "" : r.GetString(18));
                    json.WriteString("type", "upstream_error");
                    json.WriteNull("param");
                    if (r.IsDBNull(17)) json.WriteNull("code"); else json.WriteString("code", r.GetString(17));
                    json.WriteEndObject();
                    json.WriteEndObject();
                }
                json.WriteEndObject();
            }
            json.WriteStartObject("error");
            json.WriteString("code", r.IsDBNull(17) ? state.ToString().ToLowerInvariant() : r.GetString(17));
            json.WriteString("message", r.IsDBNull(18) ? $"the request was {state.ToString().ToLowerInvariant()}" : r.GetString(18));
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    /// <summary>
    /// OpenAI's embeddings answer rebuilt from the stored vectors (the provider's body is not kept: it is the vectors
    /// again, as text): a list of embedding objects, as floats, or as base64 when the line asked for that encoding.
    /// </summary>
    private static void WriteEmbeddingList(Utf8JsonWriter json, NpgsqlDataReader r, float[][] vectors)
    {
        using var request = JsonDocument.Parse(r.GetString(4));
        var base64 = request.RootElement.TryGetProperty("encoding_format", out var encoding) && encoding.ValueKind == JsonValueKind.String
            && encoding.GetString() == "base64";
        json.WriteStartObject();
        json.WriteString("object", "list");
        json.WriteStartArray("data");
        for (var index = 0; index < vectors.Length; index++)
        {
            json.WriteStartObject();
            json.WriteString("object", "embedding");
            json.WriteNumber("index", index);
            if (base64)
            {
                json.WriteString("embedding", Embeddings.ToBase64(vectors[index]));
            }
            else
            {
                json.WritePropertyName("embedding");
                Embeddings.WriteArray(json, vectors[index]);
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
        json.WriteString("model", r.IsDBNull(14) ? r.IsDBNull(13) ? "" : r.GetString(13) : r.GetString(14));
        json.WriteStartObject("usage");
        var input = r.IsDBNull(8) ? 0 : r.GetInt32(8);
        json.WriteNumber("prompt_tokens", input);
        json.WriteNumber("total_tokens", input);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>A chat.completion object rebuilt from the stored answer, for answers that did not come as one JSON object.</summary>
    private static void WriteCompletion(Utf8JsonWriter json, NpgsqlDataReader r, long itemId)
    {
        json.WriteStartObject();
        json.WriteString("id", $"chatcmpl-{itemId:x16}");
        json.WriteString("object", "chat.completion");
        json.WriteNumber("created", 0);
        json.WriteString("model", r.IsDBNull(14) ? r.IsDBNull(13) ? "" : r.GetString(13) : r.GetString(14));
        json.WriteStartArray("choices");
        json.WriteStartObject();
        json.WriteNumber("index", 0);
        json.WriteStartObject("message");
        json.WriteString("role", "assistant");
        WriteNullableString(json, "content", r, 5);
        json.WriteEndObject();
        WriteNullableString(json, "finish_reason", r, 7);
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteStartObject("usage");
        var input = r.IsDBNull(8) ? 0 : r.GetInt32(8);
        var output = r.IsDBNull(9) ? 0 : r.GetInt32(9);
        json.WriteNumber("prompt_tokens", input);
        json.WriteNumber("completion_tokens", output);
        json.WriteNumber("total_tokens", input + output);
        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <param name="embeddings">An embeddings job's CSV has an <c>embedding</c> column after <c>answer</c>: the vector as a JSON array (a list of them for several inputs).</param>
    private static async Task WriteCsvAsync(Stream output, NpgsqlDataReader reader, IReadOnlyList<ExportField> fields, JobLineage? job, bool embeddings,
        CancellationToken cancellationToken)
    {
        await using var text = new StreamWriter(output, new UTF8Encoding(false), leaveOpen: true);
        await using var csv = new CsvWriter(text, CultureInfo.InvariantCulture);
        foreach (var header in new[] { "id" }.Concat(fields.Select(f => f.Name)).Concat(embeddings ? ["answer", "embedding"] : ["answer"])
            .Concat(["input_tokens", "output_tokens", "cost_usd", "state", "error", "usage_source", "in_doubt_calls", "in_doubt_cost_usd"])
            .Concat(job is null ? [] : CsvLineageColumns))
        {
            csv.WriteField(header);
        }
        await csv.NextRecordAsync();
        while (await reader.ReadAsync(cancellationToken))
        {
            csv.WriteField(reader.GetString(1));
            if (fields.Count > 0)
            {
                using var record = JsonDocument.Parse(reader.GetString(4));
                using var answer = fields.Any(f => f.AnswerPath is not null) ? AnswerFields.ParseAnswer(reader.IsDBNull(5) ? null : reader.GetString(5)) : null;
                foreach (var field in fields)
                {
                    if (field.AnswerPath is { } path)
                    {
                        csv.WriteField(answer is null ? "" : AnswerFields.Cell(AnswerFields.Find(answer.RootElement, path)));
                        continue;
                    }
                    csv.WriteField(record.RootElement.TryGetProperty(field.Name, out var value)
                        ? value.ValueKind == JsonValueKind.String ? value.GetString() : value.GetRawText()
                        : "");
                }
            }
            csv.WriteField(reader.IsDBNull(5) ? "" : reader.GetString(5));
            if (embeddings)
            {
                csv.WriteField(VectorsOf(reader) is { } vectors ? VectorCell(vectors) : "");
            }
            csv.WriteField(reader.IsDBNull(8) ? "" : reader.GetInt32(8).ToString(CultureInfo.InvariantCulture));
            csv.WriteField(reader.IsDBNull(9) ? "" : reader.GetInt32(9).ToString(CultureInfo.InvariantCulture));
            csv.WriteField(reader.IsDBNull(10) ? "" : reader.GetDecimal(10).ToString(CultureInfo.InvariantCulture));
            csv.WriteField(((ItemState)reader.GetInt32(3)).ToString().ToLowerInvariant());
            csv.WriteField(reader.IsDBNull(17) ? "" : $"{reader.GetString(17)}: {(reader.IsDBNull(18) ? "" : reader.GetString(18))}");
            csv.WriteField(reader.IsDBNull(19) ? "" : reader.GetString(19));
            csv.WriteField(reader.GetInt32(22).ToString(CultureInfo.InvariantCulture));
            csv.WriteField(reader.GetDecimal(23).ToString(CultureInfo.InvariantCulture));
            if (job is not null)
            {
                csv.WriteField(job.JobId.ToString());
                csv.WriteField(job.TemplateHash ?? "");
                csv.WriteField(job.ParametersHash ?? "");
                csv.WriteField(job.RouteName ?? "");
                csv.WriteField(reader.IsDBNull(25) ? "" : reader.GetInt32(25).ToString(CultureInfo.InvariantCulture));
                csv.WriteField(reader.IsDBNull(12) ? "" : reader.GetString(12));
                csv.WriteField(job.RequestedModel);
                csv.WriteField(reader.IsDBNull(14) ? "" : reader.GetString(14));
                csv.WriteField(reader.IsDBNull(24) ? "" : reader.GetString(24));
                csv.WriteField(reader.IsDBNull(26) ? "" : reader.GetInt32(26).ToString(CultureInfo.InvariantCulture));
                csv.WriteField(reader.IsDBNull(28) ? "" : reader.GetString(28));
                csv.WriteField(reader.IsDBNull(31) ? "" : reader.GetInt64(31).ToString(CultureInfo.InvariantCulture));
            }
            await csv.NextRecordAsync();
        }
        await csv.FlushAsync();
    }

    private static string VectorCell(float[][] vectors)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            if (vectors.Length == 1)
            {
                Embeddings.WriteArray(json, vectors[0]);
            }
            else
            {
                json.WriteStartArray();
                foreach (var vector in vectors)
                {
                    Embeddings.WriteArray(json, vector);
                }
                json.WriteEndArray();
            }
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteNullableString(Utf8JsonWriter json, string name, NpgsqlDataReader r, int ordinal)
    {
        if (r.IsDBNull(ordinal)) json.WriteNull(name); else json.WriteString(name, r.GetString(ordinal));
    }

    private static void WriteNullableString(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null) json.WriteNull(name); else json.WriteString(name, value);
    }

    private static void WriteNullableNumber(Utf8JsonWriter json, string name, NpgsqlDataReader r, int ordinal)
    {
        if (r.IsDBNull(ordinal)) json.WriteNull(name); else json.WriteNumber(name, r.GetInt32(ordinal));
    }

    /// <summary>
    /// Writes a stored body that is one complete JSON object (what OpenAI's output lines hold); false when it is not.
    /// A body the provider pretty-printed is written compact, so a JSONL line stays one line.
    /// </summary>
    internal static bool TryWriteJsonObject(Utf8JsonWriter json, string? text)
    {
        if (string.IsNullOrEmpty(text) || text.AsSpan().TrimStart() is not ['{', ..])
        {
            return false;
        }
        try
        {
            if (text.AsSpan().IndexOfAny('\n', '\r') < 0)
            {
                var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
                while (reader.Read())
                {
                }
                json.WriteRawValue(text, skipInputValidation: true);
                return true;
            }
            using var document = JsonDocument.Parse(text);
            document.RootElement.WriteTo(json);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
