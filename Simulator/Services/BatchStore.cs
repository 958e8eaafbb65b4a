using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using AspireBatch.Simulator.Apis;
using AspireBatch.Simulator.Contracts;

namespace AspireBatch.Simulator.Services;

/// <summary>OpenAI's batch statuses, spelled as on the wire.</summary>
public static class BatchStatus
{
    public const string Validating = "validating";
    public const string Failed = "failed";
    public const string InProgress = "in_progress";
    public const string Finalizing = "finalizing";
    public const string Completed = "completed";
    public const string Expired = "expired";
    public const string Cancelling = "cancelling";
    public const string Cancelled = "cancelled";

    public static bool IsTerminal(string status) => status is Completed or Failed or Expired or Cancelled;
}

/// <summary>
/// The native batches, in memory, and their life: <c>validating</c> (the input file is checked on the first tick after
/// creation; a bad file ends <c>failed</c> with <c>errors</c>), <c>in_progress</c> (lines answered evenly over the batch's
/// turnaround, the i-th of n due at in_progress_at + turnaround × i / n), <c>finalizing</c> (one tick), <c>completed</c>.
/// <c>expires_at</c> passing first ends it <c>expired</c>; a cancel ends it <c>cancelled</c> on the next tick. Output and
/// error files are written when a batch ends, each only when it has lines. <see cref="BatchProcessor"/> calls
/// <see cref="Advance"/>; every change of a batch happens under that batch's lock.
/// </summary>
public sealed class BatchStore(FileStore files, SimulatorRuntime runtime, SimulatorCounters counters, TimeProvider time)
{
    public const string CompletionWindow = "24h";
    public const int MaxLines = 50_000;
    private const int MaxReportedErrors = 100;
    private const string ExpiredMessage = "This request could not be executed before the completion window expired.";

    private readonly ConcurrentDictionary<string, Batch> _batches = new(StringComparer.Ordinal);
    private long _sequence;

    public BatchObject Create(StoredFile input, string endpoint, IReadOnlyDictionary<string, string>? metadata, SimulatorOptions options)
    {
        var batch = new Batch(
            "batch_" + Guid.NewGuid().ToString("N"), Interlocked.Increment(ref _sequence), input, endpoint, metadata, time.GetUtcNow(),
            TimeSpan.FromMilliseconds(options.BatchTurnaroundMs), TimeSpan.FromMilliseconds(options.BatchExpireAfterMs), options.BatchLineFailureRate);
        _batches[batch.Id] = batch;
        counters.BatchCreated();
        lock (batch.Gate)
        {
            return batch.ToObject();
        }
    }

    public BatchObject? Get(string id)
    {
        if (!_batches.TryGetValue(id, out var batch))
        {
            return null;
        }

        lock (batch.Gate)
        {
            return batch.ToObject();
        }
    }

    /// <summary>
    /// Asks a batch to stop: a validating or running one turns <c>cancelling</c> (and <c>cancelled</c> on the next tick), a
    /// cancelling or cancelled one is returned as it is (a repeated cancel is harmless). Null when the batch is unknown;
    /// <paramref name="endedAs"/> is set when it ended otherwise (completed, failed, expired, or finalizing: nothing is left to cancel).
    /// </summary>
    public BatchObject? Cancel(string id, out string? endedAs)
    {
        endedAs = null;
        if (!_batches.TryGetValue(id, out var batch))
        {
            return null;
        }

        lock (batch.Gate)
        {
            if (batch.Status is BatchStatus.Validating or BatchStatus.InProgress)
            {
                batch.Status = BatchStatus.Cancelling;
                batch.CancellingAt = time.GetUtcNow();
            }
            else if (batch.Status is not (BatchStatus.Cancelling or BatchStatus.Cancelled))
            {
                endedAs = batch.Status;
            }

            return batch.ToObject();
        }
    }

    /// <summary>A page of batches, newest first, starting after the batch <paramref name="after"/> (false when it is unknown).</summary>
    public bool TryList(string? after, int limit, out BatchList list)
    {
        var ordered = _batches.Values.OrderByDescending(b => b.Sequence).ToList();
        var start = 0;
        if (after is not null)
        {
            start = ordered.FindIndex(b => b.Id == after) + 1;
            if (start == 0)
            {
                list = null!;
                return false;
            }
        }

        var page = ordered.Skip(start).Take(limit).Select(b =>
        {
            lock (b.Gate)
            {
                return b.ToObject();
            }
        }).ToList();
        list = new BatchList("list", page, page.FirstOrDefault()?.Id, page.LastOrDefault()?.Id, start + page.Count < ordered.Count);
        return true;
    }

    /// <summary>The batches that have not ended, for the processor.</summary>
    public IEnumerable<Batch> Active() => _batches.Values.Where(b => !BatchStatus.IsTerminal(Volatile.Read(ref b.Status)));

    /// <summary>Moves <paramref name="batch"/> as far as the clock allows.</summary>
    public void Advance(Batch batch)
    {
        lock (batch.Gate)
        {
            var now = time.GetUtcNow();
            switch (batch.Status)
            {
                case BatchStatus.Validating:
                    if (Validate(batch) is { } errors)
                    {
                        batch.Errors = errors;
                        batch.FailedAt = now;
                        batch.Status = BatchStatus.Failed;
                        return;
                    }

                    batch.InProgressAt = now;
                    batch.Status = BatchStatus.InProgress;
                    goto case BatchStatus.InProgress;

                case BatchStatus.InProgress:
                    AnswerDueLines(batch, now);
                    if (batch.Next == batch.Lines.Count)
                    {
                        batch.FinalizingAt = now;
                        batch.Status = BatchStatus.Finalizing;
                    }
                    else if (now >= batch.ExpiresAt)
                    {
                        ExpireRemainingLines(batch);
                        End(batch, BatchStatus.Expired, now);
                    }

                    return;

                case BatchStatus.Finalizing:
                    End(batch, BatchStatus.Completed, now);
                    return;

                case BatchStatus.Cancelling:
                    End(batch, BatchStatus.Cancelled, now);
                    return;
            }
        }
    }

    /// <summary>Ends a batch whose processing threw: it fails with the exception's message rather than stopping the simulator.</summary>
    public void Fail(Batch batch, Exception exception)
    {
        lock (batch.Gate)
        {
            batch.Errors = new BatchErrors("list", [new BatchError("internal_error", $"The simulator failed to process this batch: {exception.Message}", null, null)]);
            batch.FailedAt = time.GetUtcNow();
            batch.Status = BatchStatus.Failed;
        }
    }

    /// <summary>Null when the input file is a valid batch for the endpoint; otherwise OpenAI-style errors with their line numbers.</summary>
    private static BatchErrors? Validate(Batch batch)
    {
        var errors = new List<BatchError>();
        var customIds = new HashSet<string>(StringComparer.Ordinal);
        var lines = new List<BatchLine>();
        var text = Encoding.UTF8.GetString(batch.InputContent);
        batch.InputContent = [];
        if (text.Length > 0 && text[0] == '\uFEFF')
        {
            text = text[1..];
        }

        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.TrimEnd('\r');
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            if (ParseLine(line, number, batch.Endpoint, out var parsed) is { } error)
            {
                errors.Add(error);
            }
            else if (!customIds.Add(parsed.CustomId))
            {
                errors.Add(new BatchError(
                    "duplicate_custom_id",
                    $"Line {number}: the custom_id '{parsed.CustomId}' is a duplicate of another request's. The custom_id parameter must be unique for each individual request in a batch.",
                    "custom_id", number));
            }
            else if (lines.Count > 0 && parsed.Model != lines[0].Model)
            {
                errors.Add(new BatchError(
                    "mismatched_model",
                    $"Line {number}: the model '{parsed.Model}' does not match the rest of the batch ('{lines[0].Model}'). Each batch must contain requests for a single model.",
                    "body.model", number));
            }
            else
            {
                lines.Add(parsed);
            }

            if (errors.Count == MaxReportedErrors)
            {
                break;
            }
        }

        if (errors.Count == 0 && lines.Count == 0)
        {
            errors.Add(new BatchError("empty_file", "The batch input file is empty. Please ensure that the batch contains at least one request.", null, null));
        }
        else if (errors.Count == 0 && lines.Count > MaxLines)
        {
            errors.Add(new BatchError("too_many_requests", $"The batch input file has {lines.Count} requests; a batch can contain up to {MaxLines}.", null, null));
        }

        if (errors.Count > 0)
        {
            return new BatchErrors("list", errors);
        }

        batch.Lines = lines;
        batch.Total = lines.Count;
        batch.Model = lines[0].Model;
        return null;
    }

    private static BatchError? ParseLine(string line, int number, string endpoint, out BatchLine parsed)
    {
        parsed = null!;
        JsonElement root;
        try
        {
            using var document = JsonDocument.Parse(line);
            root = document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return new BatchError("invalid_json_line", $"Line {number}: this line is not parseable as valid JSON.", null, number);
        }

        if (root.ValueKind != JsonValueKind.Object)
        {
            return new BatchError("invalid_json_line", $"Line {number}: a request must be a JSON object.", null, number);
        }

        if (!root.TryGetProperty("custom_id", out var customId) || customId.ValueKind != JsonValueKind.String || customId.GetString() is not { Length: > 0 } id)
        {
            return new BatchError("missing_required_parameter", $"Line {number}: missing required parameter 'custom_id' (a non-empty string).", "custom_id", number);
        }

        if (!root.TryGetProperty("method", out var method) || !method.ValueEquals("POST"))
        {
            return new BatchError("invalid_value", $"Line {number}: 'method' must be 'POST'.", "method", number);
        }

        if (!root.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
        {
            return new BatchError("missing_required_parameter", $"Line {number}: missing required parameter 'url'.", "url", number);
        }

        if (!url.ValueEquals(endpoint))
        {
            return new BatchError(
                "invalid_url", $"Line {number}: the URL '{url.GetString()}' does not match the batch endpoint '{endpoint}'.", "url", number);
        }

        if (!root.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.Object)
        {
            return new BatchError("missing_required_parameter", $"Line {number}: missing required parameter 'body' (a JSON object).", "body", number);
        }

        var model = body.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        parsed = new BatchLine(id, url.GetString()!, body, model);
        return null;
    }

    private void AnswerDueLines(Batch batch, DateTimeOffset now)
    {
        var count = batch.Lines.Count;
        var elapsed = (now < batch.ExpiresAt ? now : batch.ExpiresAt) - batch.InProgressAt!.Value;
        var due = batch.Turnaround <= TimeSpan.Zero || elapsed >= batch.Turnaround
            ? count
            : (int)Math.Min(count, Math.Floor(count * (elapsed / batch.Turnaround)));
        if (due <= batch.Next)
        {
            return;
        }

        var context = new BatchLineContext(runtime.Current, runtime, counters, time);
        for (; batch.Next < due; batch.Next++)
        {
            var line = batch.Lines[batch.Next];
            var result = runtime.DrawBatchLineFailure(batch.LineFailureRate)
                ? new BatchLineResult(StatusCodes.Status500InternalServerError, OpenAiErrors.ServerError().Value!)
                : BatchLines.Answer(line.Url, line.Body, context);
            var written = new BatchOutputLine(NewLineId(), line.CustomId, new BatchLineResponse(result.StatusCode, NewRequestId(), result.Body), null);
            if (result.Succeeded)
            {
                batch.Completed++;
                batch.PromptTokens += result.PromptTokens;
                batch.CompletionTokens += result.CompletionTokens;
                counters.BatchLineAnswered(result.PromptTokens, result.CompletionTokens);
                Append(batch.Output, written);
            }
            else
            {
                batch.Failed++;
                counters.BatchLineFailed();
                Append(batch.ErrorOutput, written);
            }
        }
    }

    private void ExpireRemainingLines(Batch batch)
    {
        var expired = batch.Lines.Count - batch.Next;
        for (; batch.Next < batch.Lines.Count; batch.Next++)
        {
            Append(batch.ErrorOutput, new BatchOutputLine(NewLineId(), batch.Lines[batch.Next].CustomId, null, new BatchLineError("batch_expired", ExpiredMessage)));
        }

        batch.Failed += expired;
        counters.BatchLinesExpired(expired);
    }

    private void End(Batch batch, string status, DateTimeOffset now)
    {
        if (batch.Output.Length > 0)
        {
            batch.OutputFileId = files.AddOutput($"{batch.Id}_output.jsonl", batch.Output.ToArray()).Id;
        }

        if (batch.ErrorOutput.Length > 0)
        {
            batch.ErrorFileId = files.AddOutput($"{batch.Id}_error.jsonl", batch.ErrorOutput.ToArray()).Id;
        }

        batch.Output = new MemoryStream();
        batch.ErrorOutput = new MemoryStream();
        batch.Lines = [];
        batch.InputContent = [];
        switch (status)
        {
            case BatchStatus.Completed:
                batch.CompletedAt = now;
                break;
            case BatchStatus.Expired:
                batch.ExpiredAt = now;
                break;
            case BatchStatus.Cancelled:
                batch.CancelledAt = now;
                break;
        }

        Volatile.Write(ref batch.Status, status);
    }

    private static void Append(MemoryStream file, BatchOutputLine line)
    {
        JsonSerializer.Serialize(file, line);
        file.WriteByte((byte)'\n');
    }

    private static string NewLineId() => "batch_req_" + Guid.NewGuid().ToString("N");

    private static string NewRequestId() => "req_" + Guid.NewGuid().ToString("N");

    /// <summary>An input line that passed validation.</summary>
    public sealed record BatchLine(string CustomId, string Url, JsonElement Body, string? Model);

    /// <summary>A batch's state; fields are read and written under <see cref="Gate"/> (Status is also read without it, volatile).</summary>
    public sealed class Batch(
        string id, long sequence, StoredFile input, string endpoint, IReadOnlyDictionary<string, string>? metadata, DateTimeOffset createdAt,
        TimeSpan turnaround, TimeSpan expireAfter, double lineFailureRate)
    {
        public readonly Lock Gate = new();
        public string Status = BatchStatus.Validating;

        public string Id { get; } = id;
        public long Sequence { get; } = sequence;
        public string InputFileId { get; } = input.Id;

        /// <summary>The input file's bytes as they were at creation, dropped once validated.</summary>
        public byte[] InputContent { get; set; } = input.Content;
        public string Endpoint { get; } = endpoint;
        public IReadOnlyDictionary<string, string>? Metadata { get; } = metadata;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public DateTimeOffset ExpiresAt { get; } = createdAt + expireAfter;
        public TimeSpan Turnaround { get; } = turnaround;
        public double LineFailureRate { get; } = lineFailureRate;

        public string? Model { get; set; }
        public BatchErrors? Errors { get; set; }
        public IReadOnlyList<BatchLine> Lines { get; set; } = [];
        public int Total { get; set; }
        public int Next { get; set; }
        public int Completed { get; set; }
        public int Failed { get; set; }
        public long PromptTokens { get; set; }
        public long CompletionTokens { get; set; }
        public MemoryStream Output { get; set; } = new();
        public MemoryStream ErrorOutput { get; set; } = new();
        public string? OutputFileId { get; set; }
        public string? ErrorFileId { get; set; }
        public DateTimeOffset? InProgressAt { get; set; }
        public DateTimeOffset? FinalizingAt { get; set; }
        public DateTimeOffset? CompletedAt { get; set; }
        public DateTimeOffset? FailedAt { get; set; }
        public DateTimeOffset? ExpiredAt { get; set; }
        public DateTimeOffset? CancellingAt { get; set; }
        public DateTimeOffset? CancelledAt { get; set; }

        public BatchObject ToObject() =>
            new(
                Id, "batch", Endpoint, Model, Errors, InputFileId, CompletionWindow, Status, OutputFileId, ErrorFileId,
                CreatedAt.ToUnixTimeSeconds(), Unix(InProgressAt), InProgressAt is null ? null : ExpiresAt.ToUnixTimeSeconds(), Unix(FinalizingAt),
                Unix(CompletedAt), Unix(FailedAt), Unix(ExpiredAt), Unix(CancellingAt), Unix(CancelledAt),
                new BatchRequestCounts(Total, Completed, Failed),
                new BatchUsage(PromptTokens, new InputTokensDetails(0), CompletionTokens, new OutputTokensDetails(0), PromptTokens + CompletionTokens),
                Metadata);

        private static long? Unix(DateTimeOffset? at) => at?.ToUnixTimeSeconds();
    }
}
