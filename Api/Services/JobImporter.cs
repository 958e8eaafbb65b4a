using System.Diagnostics;
using System.IO.Hashing;
using System.Text;
using System.Text.Json;
using AspireBatch.Api.Infrastructure;
using AspireBatch.Api.Services.Import;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using AspireBatch.Data.Lifecycle;
using AspireBatch.Data.Entities;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace AspireBatch.Api.Services;

/// <summary>What a job is made of, as the user asked for it.</summary>
public sealed record JobImportRequest(
    JobInputFormat Format,
    string? RequestedModel,
    string? Name = null,
    string? SystemTemplate = null,
    string? UserTemplate = null,
    string IdField = "id",
    double? Temperature = null,
    int? MaxTokens = null,
    string? ResponseFormat = null,
    string? Metadata = null,
    decimal? BudgetUsd = null,
    bool StartPaused = false,
    bool IsBatch = false,
    string? InputFileId = null,
    string? IdempotencyKey = null);

public abstract record ImportOutcome;

public sealed record ImportCreated(Guid JobId, JobEstimate Estimate) : ImportOutcome;

public sealed record ImportPreview(TemplatePreview Preview) : ImportOutcome;

/// <summary>A request with the same Idempotency-Key created this job first (it won the unique index); nothing new was stored.</summary>
public sealed record ImportExisting(Guid JobId) : ImportOutcome;

/// <summary>The file or the request was refused; nothing was stored.</summary>
public sealed record ImportRejected(string Title, IReadOnlyList<ImportLineError> Errors, IReadOnlyList<string>? KnownModels = null) : ImportOutcome;

/// <summary>
/// Streams an upload into a job: validates every line, writes items with binary COPY inside one transaction,
/// and commits only when the whole file is good, so a bad file leaves nothing behind.
/// </summary>
public sealed class JobImporter(NpgsqlDataSource dataSource, CatalogService catalog, IOptions<ApiOptions> options, TimeProvider time)
{
    private const int PreviewRecords = 5;

    public Task<ImportOutcome> PreviewAsync(JobImportRequest request, Stream content, CancellationToken cancellationToken) =>
        RunAsync(request, content, store: false, cancellationToken);

    public Task<ImportOutcome> ImportAsync(JobImportRequest request, Stream content, CancellationToken cancellationToken) =>
        RunAsync(request, content, store: true, cancellationToken);

    /// <summary>The job an earlier request with this key created on this endpoint (jobs or batches), if any.</summary>
    public async Task<Guid?> FindByKeyAsync(string idempotencyKey, bool isBatch, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await FindByKeyAsync(connection, idempotencyKey, isBatch, cancellationToken);
    }

    /// <summary>A unique violation on the idempotency index: a request with the same key committed its job first.</summary>
    public static bool IsRepeatedKey(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: Job.IdempotencyKeyIndex }
        || exception.InnerException is { } inner && IsRepeatedKey(inner);

    private async Task<ImportOutcome> RunAsync(JobImportRequest request, Stream content, bool store, CancellationToken cancellationToken)
    {
        if (RequestErrors(request) is { Count: > 0 } requestErrors)
        {
            return new ImportRejected("The job's parameters are invalid", requestErrors);
        }
        ResolvedTarget? target = null;
        if (!string.IsNullOrWhiteSpace(request.RequestedModel))
        {
            target = await catalog.ResolveAsync(request.RequestedModel, cancellationToken);
            if (target is null)
            {
                return await UnknownModel(request.RequestedModel, 0, cancellationToken);
            }
        }

        var limits = new ImportLimits(options.Value.MaxUploadBytes, options.Value.MaxLineBytes);
        var maxErrors = options.Value.MaxReportedErrors;
        var settings = new JobRequestSettings(request.Format, request.SystemTemplate, request.UserTemplate, request.Temperature, request.MaxTokens, request.ResponseFormat);
        var system = PromptTemplate.Parse(request.SystemTemplate);
        var user = PromptTemplate.Parse(request.UserTemplate);
        var jobId = Guid.CreateVersion7();
        var now = time.GetUtcNow();

        await using var connection = store ? await dataSource.OpenConnectionAsync(cancellationToken) : null;
        await using var transaction = connection is null ? null : await connection.BeginTransactionAsync(cancellationToken);
        if (connection is not null)
        {
            try
            {
                // The key goes in with the job row, first: a second request with the same key waits here on the unique index
                // until this transaction ends, then fails (and reads our job) or goes on (we rolled back).
                await JobLifecycle.CreateAsync(connection, new NewJob(jobId, request.Name, request.StartPaused, request.Format, request.RequestedModel,
                    request.SystemTemplate, request.UserTemplate, request.Temperature, request.MaxTokens, request.ResponseFormat, request.Metadata,
                    request.BudgetUsd, request.IsBatch, request.InputFileId, request.IdempotencyKey, Activity.Current?.Id, now), cancellationToken);
            }
            catch (PostgresException e) when (IsRepeatedKey(e))
            {
                await transaction!.RollbackAsync(cancellationToken);
                return new ImportExisting(await FindByKeyAsync(connection, request.IdempotencyKey!, request.IsBatch, cancellationToken)
                    ?? throw new InvalidOperationException($"the job holding Idempotency-Key \"{request.IdempotencyKey}\" vanished"));
            }
        }
        NpgsqlBinaryImporter? copy = connection is null ? null : await connection.BeginBinaryImportAsync(
            "COPY items (job_id, line_number, custom_id, state, payload, estimated_input_tokens, attempts, created_at) FROM STDIN (FORMAT BINARY)",
            cancellationToken);

        var errors = new List<ImportLineError>();
        var firstLineOfId = new Dictionary<ulong, int>();
        var preview = new List<RenderedRecord>();
        string? batchModel = null;
        var items = 0;
        long inputTokens = 0;
        long maxOutputTokens = 0;
        try
        {
            await foreach (var record in Records(request, content, limits, cancellationToken))
            {
                using var _ = record;
                var error = record.Error ?? RecordError(record, system, user, firstLineOfId);
                if (error is null && request.Format == JobInputFormat.OpenAiBatch)
                {
                    var model = record.Document!.RootElement.GetProperty("model").GetString()!;
                    batchModel ??= model;
                    if (model != batchModel)
                    {
                        error = $"every line must use the same model: \"{model}\" differs from \"{batchModel}\" of the first line";
                    }
                    else if (target is null)
                    {
                        target = await catalog.ResolveAsync(model, cancellationToken);
                        if (target is null)
                        {
                            await DisposeCopy(copy);
                            return await UnknownModel(model, record.Line, cancellationToken);
                        }
                    }
                }
                if (error is not null)
                {
                    errors.Add(new ImportLineError(record.Line, error));
                    copy = await DisposeCopy(copy);
                    if (errors.Count >= maxErrors)
                    {
                        break;
                    }
                    continue;
                }
                if (errors.Count > 0)
                {
                    continue;
                }

                var (tokens, outputCap, rendered) = Measure(record, settings, system, user);
                items++;
                inputTokens += tokens;
                maxOutputTokens += outputCap;
                if (preview.Count < PreviewRecords)
                {
                    preview.Add(new RenderedRecord(record.Id!, record.Line, rendered.System, rendered.User));
                }
                if (copy is not null)
                {
                    await copy.StartRowAsync(cancellationToken);
                    await copy.WriteAsync(jobId, NpgsqlDbType.Uuid, cancellationToken);
                    await copy.WriteAsync(record.Line, NpgsqlDbType.Integer, cancellationToken);
                    await copy.WriteAsync(record.Id!, NpgsqlDbType.Varchar, cancellationToken);
                    await copy.WriteAsync((int)ItemState.Pending, NpgsqlDbType.Integer, cancellationToken);
                    await copy.WriteAsync(record.Payload!, NpgsqlDbType.Jsonb, cancellationToken);
                    await copy.WriteAsync(tokens, NpgsqlDbType.Integer, cancellationToken);
                    await copy.WriteAsync(0, NpgsqlDbType.Integer, cancellationToken);
                    await copy.WriteAsync(now, NpgsqlDbType.TimestampTz, cancellationToken);
                }
            }
        }
        catch (ImportAbortedException e)
        {
            errors.Add(new ImportLineError(e.Line, e.Message));
        }

        if (errors.Count == 0 && items == 0)
        {
            errors.Add(new ImportLineError(0, "the file has no records"));
        }
        if (errors.Count > 0)
        {
            await DisposeCopy(copy);
            // The transaction rolls back on dispose: no job, no item.
            return new ImportRejected($"The file has {(errors.Count >= maxErrors ? "at least " : "")}{errors.Count} invalid line(s); nothing was created", errors);
        }

        var estimate = new JobEstimate(items, inputTokens, maxOutputTokens,
            Pricing.Cost(inputTokens, maxOutputTokens, target!.InputPricePerMTok, target.OutputPricePerMTok), target.Describe);
        if (!store)
        {
            return new ImportPreview(new TemplatePreview(preview, estimate));
        }

        await copy!.CompleteAsync(cancellationToken);
        await copy.DisposeAsync();
        await FinishJobAsync(connection!, jobId, request, target, estimate, cancellationToken);
        await transaction!.CommitAsync(cancellationToken);
        return new ImportCreated(jobId, estimate);
    }

    private static IAsyncEnumerable<SourceRecord> Records(JobImportRequest request, Stream content, ImportLimits limits, CancellationToken cancellationToken) =>
        request.Format switch
        {
            JobInputFormat.Csv => RecordParsers.CsvAsync(content, request.IdField, limits, cancellationToken),
            JobInputFormat.OpenAiBatch => RecordParsers.OpenAiBatchAsync(content, limits, cancellationToken),
            _ => RecordParsers.JsonlAsync(content, request.IdField, limits, cancellationToken),
        };

    private static List<ImportLineError> RequestErrors(JobImportRequest request)
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
        if (request.BudgetUsd is <= 0)
        {
            errors.Add(new(0, "budgetUsd must be positive"));
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
            }
            catch (JsonException)
            {
                errors.Add(new(0, $"{name} is not valid JSON"));
            }
        }
        return errors;
    }

    private static string? RecordError(SourceRecord record, PromptTemplate system, PromptTemplate user, Dictionary<ulong, int> firstLineOfId)
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

    private static (int Tokens, int OutputCap, (string? System, string User) Rendered) Measure(
        SourceRecord record, JobRequestSettings settings, PromptTemplate system, PromptTemplate user)
    {
        var root = record.Document!.RootElement;
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
        var tokens = TokenCounter.CountMessages(renderedSystem is null ? [renderedUser] : [renderedSystem, renderedUser]);
        return (tokens, settings.MaxTokens ?? Pricing.DefaultMaxOutputTokensForEstimate, (renderedSystem, renderedUser));
    }

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

    private async Task<ImportOutcome> UnknownModel(string name, int line, CancellationToken cancellationToken)
    {
        var known = await catalog.KnownNamesAsync(cancellationToken);
        return new ImportRejected($"Unknown model \"{name}\"",
            [new ImportLineError(line, $"\"{name}\" is not a known model, alias or route; known: {string.Join(", ", known)}")], known);
    }

    private static async Task<NpgsqlBinaryImporter?> DisposeCopy(NpgsqlBinaryImporter? copy)
    {
        if (copy is not null)
        {
            // Disposing without Complete cancels the COPY; the transaction then rolls back.
            try { await copy.DisposeAsync(); } catch (PostgresException) { } catch (NpgsqlException) { }
        }
        return null;
    }

    private static async Task<Guid?> FindByKeyAsync(NpgsqlConnection connection, string idempotencyKey, bool isBatch, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT id FROM jobs WHERE idempotency_key = @key AND is_batch = @is_batch", connection);
        command.Parameters.AddWithValue("key", idempotencyKey);
        command.Parameters.AddWithValue("is_batch", isBatch);
        return await command.ExecuteScalarAsync(cancellationToken) as Guid?;
    }

    private static async Task FinishJobAsync(NpgsqlConnection connection, Guid jobId, JobImportRequest request, ResolvedTarget target, JobEstimate estimate, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            UPDATE jobs SET requested_model = @requested, route_id = @route, provider_id = @provider, model_name = @model,
                total_items = @total, estimated_input_tokens = @tokens, estimated_cost_bound_usd = @bound
            WHERE id = @id
            """, connection);
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.AddWithValue("requested", string.IsNullOrWhiteSpace(request.RequestedModel) ? target.ModelName : request.RequestedModel);
        command.Parameters.AddWithValue("route", (object?)target.RouteId ?? DBNull.Value);
        command.Parameters.AddWithValue("provider", target.RouteId is null ? target.ProviderId! : DBNull.Value);
        command.Parameters.AddWithValue("model", target.ModelName);
        command.Parameters.AddWithValue("total", estimate.Items);
        command.Parameters.AddWithValue("tokens", estimate.InputTokens);
        command.Parameters.AddWithValue("bound", estimate.CostBoundUsd);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
