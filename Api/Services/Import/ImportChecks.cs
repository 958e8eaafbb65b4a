using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;

namespace AspireBatch.Api.Services.Import;

/// <summary>The import's judgement of a request and of each record, without any storage: shared by preview and import.</summary>
public static class ImportChecks
{
    /// <summary>The largest vector size a job may ask for (OpenAI's text-embedding-3-large has 3,072).</summary>
    public const int MaxDimensions = 16_384;

    /// <summary>The longest a cached answer may serve (90 days).</summary>
    public const int MaxResponseCacheTtlSeconds = 90 * 24 * 3600;

    /// <summary>What is wrong with the request itself, before any line is read (line 0).</summary>
    public static List<ImportLineError> RequestErrors(JobImportRequest request)
    {
        var errors = new List<ImportLineError>();
        if (request.Format != JobInputFormat.OpenAiBatch && string.IsNullOrWhiteSpace(request.UserTemplate))
        {
            errors.Add(new(0, "userTemplate is required for JSONL and CSV records (e.g. \"Classify: {{text}}\")"));
        }
        if (request.Format != JobInputFormat.OpenAiBatch && string.IsNullOrWhiteSpace(request.RequestedModel))
        {
            errors.Add(new(0, "model is required: a model name, an alias or a route"));
        }
        if (request.Temperature is < 0 or > 2)
        {
            errors.Add(new(0, "temperature must be between 0 and 2"));
        }
        if (request.MaxTokens is < 1 or > 1_000_000)
        {
            errors.Add(new(0, "maxTokens must be between 1 and 1,000,000"));
        }
        if (request.Mode == JobMode.Auto && request.Deadline is null)
        {
            errors.Add(new(0, "mode auto needs a deadline (ISO 8601 with an offset, e.g. 2026-12-02T08:00:00Z): the time by which every record must be answered"));
        }
        if (request.Mode != JobMode.Auto && request.Deadline is not null)
        {
            errors.Add(new(0, "deadline is for mode auto only: provider-batch waits for the provider's batch, realtime has nothing to plan"));
        }
        if (request.Deadline is { } deadline && deadline <= DateTimeOffset.UtcNow)
        {
            errors.Add(new(0, "deadline is in the past"));
        }
        if (request.BudgetUsd is <= 0)
        {
            errors.Add(new(0, "budgetUsd must be positive"));
        }
        if (request.ResponseCacheTtlSeconds is < 1 or > MaxResponseCacheTtlSeconds)
        {
            errors.Add(new(0, $"responseCacheTtlSeconds must be between 1 and {MaxResponseCacheTtlSeconds:N0} (90 days)"));
        }
        if (request.ResponseCacheTtlSeconds is not null && request.Dedup == false)
        {
            errors.Add(new(0, "responseCacheTtlSeconds reuses the answer of an identical request, which dedup=false forbids within the job: leave one of them out"));
        }
        if (request.Dimensions is not null && request.Endpoint != JobEndpoint.Embeddings)
        {
            errors.Add(new(0, "dimensions applies to /v1/embeddings jobs only"));
        }
        if (request.Dimensions is < 1 or > MaxDimensions)
        {
            errors.Add(new(0, $"dimensions must be between 1 and {MaxDimensions:N0}"));
        }
        if (request.Endpoint == JobEndpoint.Embeddings && request.Format != JobInputFormat.OpenAiBatch)
        {
            // Embeddings take one input and no generation parameters: a setting that would be ignored is refused instead.
            foreach (var (name, set) in new[] { ("systemTemplate", request.SystemTemplate is not null), ("temperature", request.Temperature is not null),
                         ("maxTokens", request.MaxTokens is not null), ("responseFormat", request.ResponseFormat is not null) })
            {
                if (set)
                {
                    errors.Add(new(0, $"{name} does not apply to /v1/embeddings jobs"));
                }
            }
        }
        foreach (var (name, json) in new[] { ("responseFormat", request.ResponseFormat), ("metadata", request.Metadata) })
        {
            if (json is null)
            {
                continue;
            }
            try
            {
                using var document = JsonDocument.Parse(json);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    errors.Add(new(0, $"{name} must be a JSON object"));
                }
                else if (name == "responseFormat" && AnswerSchema.FromResponseFormat(document.RootElement).Error is { } schemaError)
                {
                    // Every answer is checked against it: a schema that cannot check anything is refused now, not per record.
                    errors.Add(new(0, $"responseFormat: {schemaError}"));
                }
            }
            catch (JsonException)
            {
                errors.Add(new(0, $"{name} is not valid JSON"));
            }
        }
        return errors;
    }

    /// <summary>What is wrong with one parsed record: its id, a placeholder it has no field for, or an id seen before.</summary>
    public static string? RecordError(SourceRecord record, PromptTemplate system, PromptTemplate user, Dictionary<ulong, int> firstLineOfId)
    {
        if (record.Id!.Length > RecordParsers.MaxIdLength)
        {
            return $"the id is longer than {RecordParsers.MaxIdLength} characters";
        }
        var missing = system.MissingFields(record.Document!.RootElement).Concat(user.MissingFields(record.Document.RootElement)).Distinct().ToList();
        if (missing.Count > 0)
        {
            return $"no field for placeholder {string.Join(", ", missing.Select(m => "{{" + m + "}}"))}";
        }
        // A 64-bit hash per id keeps a million ids in a few MB; the unique index stays the final guard.
        var hash = XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(record.Id));
        if (!firstLineOfId.TryAdd(hash, record.Line))
        {
            return $"duplicate id \"{record.Id}\" (first seen on line {firstLineOfId[hash]})";
        }
        return null;
    }

    /// <summary>
    /// An OpenAI Batch line whose url is not the file's (its first line's), or not the batch's endpoint when the
    /// request names one (<c>/v1/batches</c> does): OpenAI refuses such a batch, and a job has one endpoint.
    /// </summary>
    public static string? BatchEndpointError(JobEndpoint line, JobEndpoint first, JobImportRequest request)
    {
        if (line != first)
        {
            return $"every line must use the same url: \"{line.Path()}\" differs from \"{first.Path()}\" of the first line";
        }
        return request.IsBatch && line != request.Endpoint
            ? $"\"url\" is \"{line.Path()}\" but the batch's endpoint is \"{request.Endpoint.Path()}\""
            : null;
    }

    /// <summary>A record's input tokens, its output cap for the estimate, and its rendered prompt.</summary>
    public static (int Tokens, int OutputCap, (string? System, string User) Rendered) Measure(
        SourceRecord record, JobRequestSettings settings, PromptTemplate system, PromptTemplate user)
    {
        var root = record.Document!.RootElement;
        if (settings.Format == JobInputFormat.OpenAiBatch && record.Endpoint == JobEndpoint.Embeddings)
        {
            var input = root.GetProperty("input");
            var texts = input.ValueKind == JsonValueKind.Array ? input.EnumerateArray().Select(i => i.GetString()!).ToList() : [input.GetString()!];
            return (texts.Sum(TokenCounter.Count), 0, (null, string.Join("\n", texts)));
        }
        if (settings.Format == JobInputFormat.OpenAiBatch)
        {
            var contents = root.GetProperty("messages").EnumerateArray().Select(MessageText).ToList();
            var cap = root.TryGetProperty("max_tokens", out var m) && m.TryGetInt32(out var v) ? v
                : root.TryGetProperty("max_completion_tokens", out var mc) && mc.TryGetInt32(out var vc) ? vc
                : settings.MaxTokens ?? Pricing.DefaultMaxOutputTokensForEstimate;
            return (TokenCounter.CountMessages(contents), cap, (null, string.Join("\n", contents)));
        }
        var renderedSystem = system.IsEmpty ? null : system.Render(root);
        var renderedUser = user.Render(root);
        // An embeddings input is counted as text: no chat message framing.
        var tokens = settings.Endpoint == JobEndpoint.Embeddings ? TokenCounter.Count(renderedUser)
            : TokenCounter.CountMessages(renderedSystem is null ? [renderedUser] : [renderedSystem, renderedUser]);
        return (tokens, Pricing.OutputTokensForEstimate(settings.Endpoint, settings.MaxTokens), (renderedSystem, renderedUser));
    }

    /// <summary>
    /// A record's dedup key (<see cref="RequestHash"/>) when it takes part in its job's deduplication, else null:
    /// a template job's records when the job deduplicates (<see cref="RequestHash.TemplateJobDeduplicates"/>), an
    /// OpenAI Batch line when the job or the line's own temperature says so (<see cref="RequestHash.BatchLineDeduplicates"/>),
    /// embeddings unless dedup is off (<see cref="RequestHash.EmbeddingsDeduplicate"/>). A job with the response cache
    /// keys every record: the key is what the cache looks up.
    /// </summary>
    public static byte[]? DedupKey(SourceRecord record, JobImportRequest request, JobEndpoint endpoint, (string? System, string User) rendered)
    {
        var cached = request.ResponseCacheTtlSeconds is not null;
        if (request.Format == JobInputFormat.OpenAiBatch)
        {
            var body = record.Document!.RootElement;
            var participates = cached || (endpoint == JobEndpoint.Embeddings
                ? RequestHash.EmbeddingsDeduplicate(request.Dedup) : RequestHash.BatchLineDeduplicates(request.Dedup, body));
            return participates ? RequestHash.BatchBody(body) : null;
        }
        var templated = cached || (endpoint == JobEndpoint.Embeddings
            ? RequestHash.EmbeddingsDeduplicate(request.Dedup) : RequestHash.TemplateJobDeduplicates(request.Dedup, request.Temperature));
        return templated ? RequestHash.Messages(rendered.System, rendered.User) : null;
    }

    /// <summary>A 16-byte key as one value, for an in-memory set.</summary>
    public static UInt128 KeyValue(byte[] key) => new(BitConverter.ToUInt64(key, 0), BitConverter.ToUInt64(key, 8));

    private static string MessageText(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            return "";
        }
        return content.ValueKind switch
        {
            JsonValueKind.String => content.GetString() ?? "",
            JsonValueKind.Array => string.Join("\n", content.EnumerateArray()
                .Where(p => p.TryGetProperty("text", out _)).Select(p => p.GetProperty("text").GetString())),
            _ => "",
        };
    }
}
