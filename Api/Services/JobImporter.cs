using AspireBatch.Api.Infrastructure;
using AspireBatch.Api.Services.Import;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using AspireBatch.Data.Entities;
using AspireBatch.Data.Services;
using Microsoft.Extensions.Options;
using Npgsql;

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
    string? IdempotencyKey = null,
    bool? Dedup = null,
    JobEndpoint Endpoint = JobEndpoint.ChatCompletions,
    int? Dimensions = null,
    int? ResponseCacheTtlSeconds = null,
    string Team = ApiScopes.AdminTeam,
    Guid? ApiKeyId = null,
    JobMode Mode = JobMode.Realtime,
    DateTimeOffset? Deadline = null,
    int? OutputExpiresAfterSeconds = null)
{
    /// <summary>
    /// The request as the job stores it: an embeddings job without a template embeds each record's <c>input</c> field.
    /// (An OpenAI Batch file's endpoint comes from its lines, see <see cref="ImportChecks.BatchEndpoint"/>.)
    /// </summary>
    public JobImportRequest Normalized() =>
        Endpoint == JobEndpoint.Embeddings && Format != JobInputFormat.OpenAiBatch && string.IsNullOrWhiteSpace(UserTemplate)
            ? this with { UserTemplate = JobRequestSettings.DefaultEmbeddingsTemplate }
            : this;
}

public abstract record ImportOutcome;

public sealed record ImportCreated(Guid JobId, JobEstimate Estimate) : ImportOutcome;

public sealed record ImportPreview(TemplatePreview Preview) : ImportOutcome;

/// <summary>A request with the same Idempotency-Key created this job first (it won the unique index); nothing new was stored.</summary>
public sealed record ImportExisting(Guid JobId) : ImportOutcome;

/// <summary>The file or the request was refused; nothing was stored.</summary>
public sealed record ImportRejected(string Title, IReadOnlyList<ImportLineError> Errors, IReadOnlyList<string>? KnownModels = null) : ImportOutcome;

/// <summary>
/// Streams an upload into a job: validates every line (<see cref="ImportChecks"/>), hands the good ones to an
/// <see cref="ItemSink"/> (binary COPY inside one transaction, written on a second thread by a <see cref="CopyPipeline"/>;
/// nothing for a preview), and commits only when the whole file is good, so a bad file leaves nothing behind.
/// </summary>
public sealed class JobImporter(NpgsqlDataSource dataSource, CatalogService catalog, IOptions<ApiOptions> options, TimeProvider time)
{
    private const int PreviewRecords = 5;

    public Task<ImportOutcome> PreviewAsync(JobImportRequest request, Stream content, CancellationToken cancellationToken) =>
        RunAsync(request, content, store: false, cancellationToken);

    public Task<ImportOutcome> ImportAsync(JobImportRequest request, Stream content, CancellationToken cancellationToken) =>
        RunAsync(request, content, store: true, cancellationToken);

    /// <summary>The job an earlier request with this key created on this endpoint (jobs or batches), if any.</summary>
    public Task<Guid?> FindByKeyAsync(string idempotencyKey, bool isBatch, CancellationToken cancellationToken) =>
        DatabaseFaults.ReopenOnceAsync(async () =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            return await ItemSink.FindByKeyAsync(connection, idempotencyKey, isBatch, cancellationToken);
        });

    /// <summary>A unique violation on the idempotency index: a request with the same key committed its job first.</summary>
    public static bool IsRepeatedKey(Exception exception) =>
        exception is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: Job.IdempotencyKeyIndex }
        || exception.InnerException is { } inner && IsRepeatedKey(inner);

    private async Task<ImportOutcome> RunAsync(JobImportRequest request, Stream content, bool store, CancellationToken cancellationToken)
    {
        request = request.Normalized();
        if (ImportChecks.RequestErrors(request) is { Count: > 0 } requestErrors)
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
        var settings = new JobRequestSettings(request.Format, request.SystemTemplate, request.UserTemplate, request.Temperature, request.MaxTokens, request.ResponseFormat,
            request.Endpoint, request.Dimensions);
        var system = PromptTemplate.Parse(request.SystemTemplate);
        var user = PromptTemplate.Parse(request.UserTemplate);
        var jobId = Guid.CreateVersion7();
        var now = time.GetUtcNow();

        await using var sink = store ? await ItemSink.OpenAsync(dataSource, jobId, request, now, cancellationToken) : ItemSink.None;
        if (sink.Existing is { } existing)
        {
            return new ImportExisting(existing);
        }
        // An import writes on a second thread while this one reads, checks and tokenizes (CopyPipeline); disposed before
        // the sink, so the writer has stopped before the sink rolls back.
        await using var pipeline = store ? new CopyPipeline(sink, cancellationToken) : null;

        var errors = new List<ImportLineError>();
        var firstLineOfId = new Dictionary<ulong, int>();
        // A preview counts the calls dedup saves in memory (16 bytes a record that takes part); an import leaves that
        // to one statement after its COPY (JobLifecycle.MarkDuplicatesAsync).
        var previewKeys = store ? null : new HashSet<UInt128>();
        var deduplicated = 0;
        var anyKey = false;
        var preview = new List<RenderedRecord>();
        string? batchModel = null;
        JobEndpoint? batchEndpoint = null;
        var items = 0;
        long inputTokens = 0;
        long maxOutputTokens = 0;
        try
        {
            await foreach (var record in Records(request, content, limits, cancellationToken))
            {
                using var _ = record;
                var error = record.Error ?? ImportChecks.RecordError(record, system, user, firstLineOfId);
                if (error is null && request.Format == JobInputFormat.OpenAiBatch)
                {
                    var model = record.Document!.RootElement.GetProperty("model").GetString()!;
                    batchModel ??= model;
                    batchEndpoint ??= record.Endpoint;
                    if (model != batchModel)
                    {
                        error = $"every line must use the same model: \"{model}\" differs from \"{batchModel}\" of the first line";
                    }
                    else if (ImportChecks.BatchEndpointError(record.Endpoint, batchEndpoint.Value, request) is { } endpointError)
                    {
                        error = endpointError;
                    }
                    else if (target is null)
                    {
                        target = await catalog.ResolveAsync(model, cancellationToken);
                        if (target is null)
                        {
                            return await UnknownModel(model, record.Line, cancellationToken);
                        }
                    }
                }
                if (error is not null)
                {
                    errors.Add(new ImportLineError(record.Line, error));
                    // Nothing of this file will be kept: stop sending its records, go on reading to report more lines.
                    if (pipeline is not null)
                    {
                        await pipeline.StopAsync();
                    }
                    await sink.AbandonAsync();
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

                var (tokens, outputCap, rendered) = ImportChecks.Measure(record, settings, system, user);
                var key = ImportChecks.DedupKey(record, request, batchEndpoint ?? request.Endpoint, rendered);
                anyKey |= key is not null;
                if (key is not null && previewKeys is not null && !previewKeys.Add(ImportChecks.KeyValue(key)))
                {
                    deduplicated++;
                }
                items++;
                inputTokens += tokens;
                maxOutputTokens += outputCap;
                if (preview.Count < PreviewRecords)
                {
                    preview.Add(new RenderedRecord(record.Id!, record.Line, rendered.System, rendered.User));
                }
                if (pipeline is not null)
                {
                    await pipeline.AddAsync(record, tokens, key, cancellationToken);
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
            // The sink rolls back when disposed without a commit: no job, no item.
            return new ImportRejected($"The file has {(errors.Count >= maxErrors ? "at least " : "")}{errors.Count} invalid line(s); nothing was created", errors);
        }

        if (request.Mode != JobMode.Realtime && !target!.SupportsNativeBatch)
        {
            return new ImportRejected($"{target.Describe} has no native batches",
                [new ImportLineError(0, $"mode {request.Mode.Name()} needs a provider that sells native batches; {target.ProviderName} does not " +
                    "(set supportsNativeBatch on the provider, or use mode realtime)")]);
        }
        var estimate = new JobEstimate(items, inputTokens, maxOutputTokens,
            Pricing.Cost(inputTokens, maxOutputTokens, target!.InputPricePerMTok, target.OutputPricePerMTok), target.Describe, deduplicated,
            BatchCostBoundUsd: target.SupportsNativeBatch
                ? Pricing.Cost(inputTokens, maxOutputTokens, target.BatchInputPricePerMTok, target.BatchOutputPricePerMTok)
                : null);
        if (!store)
        {
            return new ImportPreview(new TemplatePreview(preview, estimate, AnswerFields.DeclaredBy(request.ResponseFormat)));
        }
        await pipeline!.CompleteAsync(cancellationToken);
        var (followers, cached) = await sink.CommitAsync(string.IsNullOrWhiteSpace(request.RequestedModel) ? target.ModelName : request.RequestedModel,
            target, estimate, batchEndpoint ?? request.Endpoint, markDuplicates: anyKey, cancellationToken);
        return new ImportCreated(jobId, estimate with { DeduplicatedCalls = followers, CachedCalls = cached });
    }

    private static IAsyncEnumerable<SourceRecord> Records(JobImportRequest request, Stream content, ImportLimits limits, CancellationToken cancellationToken) =>
        request.Format switch
        {
            JobInputFormat.Csv => RecordParsers.CsvAsync(content, request.IdField, limits, cancellationToken),
            JobInputFormat.OpenAiBatch => RecordParsers.OpenAiBatchAsync(content, limits, cancellationToken),
            _ => RecordParsers.JsonlAsync(content, request.IdField, limits, cancellationToken),
        };

    private async Task<ImportOutcome> UnknownModel(string name, int line, CancellationToken cancellationToken)
    {
        var known = await catalog.KnownNamesAsync(cancellationToken);
        return new ImportRejected($"Unknown model \"{name}\"",
            [new ImportLineError(line, $"\"{name}\" is not a known model, alias or route; known: {string.Join(", ", known)}")], known);
    }
}
