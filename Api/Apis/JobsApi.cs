using AspireBatch.Api.Services.Access;
using AspireBatch.Api.Services;
using AspireBatch.Api.Services.Import;
using AspireBatch.Contracts;
using AspireBatch.Data.Live;
using Microsoft.AspNetCore.Http.HttpResults;
using AspireBatch.Api.Infrastructure;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;

namespace AspireBatch.Api.Apis;

/// <summary>The multipart form that creates a job: a file plus what to do with each record.</summary>
public class CreateJobForm : JobFormFields
{
    public IFormFile? File { get; set; }
}

public sealed record JobCreated(JobDto Job, JobEstimate Estimate);

public static class JobsApi
{
    public static RouteGroupBuilder MapJobsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/jobs").WithTags("Jobs").RequireScope(ApiScopes.Jobs).OwnedJobs().Audited(AuditResourceTypes.Job, AuditSnapshots.Job);

        api.MapPost("/", CreateJob).WithName("CreateJob").DisableAntiforgery()
            .WithSummary("Create a job from an uploaded file")
            .WithDescription("Multipart form: `file` (JSONL records, CSV with a header, or OpenAI Batch JSONL), `model`, `userTemplate` with {{field}} placeholders, optional `systemTemplate`, `temperature`, `maxTokens`, `responseFormat`, `name`, `metadata`, `budgetUsd`, `startPaused`, `dedup` (true/false; absent: on at temperature 0, and for embeddings), `endpoint` (`/v1/chat/completions` or `/v1/embeddings`; " +
                "an embeddings job embeds the rendered `userTemplate`, or each record's `input` field without one), `dimensions` (embeddings), `responseCacheTtlSeconds` (opt in to reusing answers of earlier jobs with the same request).  Example: `curl -H 'Authorization: Bearer dev-api-key' -F file=@reviews.jsonl -F model=gpt-3.5-turbo -F 'userTemplate=Classify the sentiment: {{text}}' http://localhost:5200/api/jobs`. A file with bad lines creates nothing and answers 400 with the line numbers. " +
                "With an `Idempotency-Key` header a retried request answers 201 with the job the first one created and creates nothing.")
            .WithIdempotencyKeyHeader();
        api.MapPost("/preview", PreviewJob).WithName("PreviewJob").ChangesNothing().DisableAntiforgery()
            .WithSummary("Validate a file and render the template on its first records, with the estimate; creates nothing");
        api.MapGet("/", ListJobs).WithName("ListJobs").WithSummary("List jobs, newest first, with paging and filters");
        api.MapGet("/{id:guid}", GetJob).WithName("GetJob").WithSummary("A job with counters, rate, ETA, tokens and cost so far");
        api.MapGet("/{id:guid}/events", ListJobEvents).WithName("ListJobEvents")
            .WithSummary("A job's history: every transition, what moved it, from and to which state, who (operator, worker, budget, monitor), why and when; oldest first");
        api.MapPost("/{id:guid}/pause", PauseJob).WithName("PauseJob").WithSummary("Stop starting new calls; calls in flight finish");
        api.MapPost("/{id:guid}/resume", ResumeJob).WithName("ResumeJob").WithSummary("Resume a paused job");
        api.MapPost("/{id:guid}/cancel", CancelJob).WithName("CancelJob").WithSummary("Cancel pending items; finished results stay exportable");
        api.MapPost("/{id:guid}/retry-failed", RetryFailed).WithName("RetryFailedItems").WithSummary("Requeue failed items, all or those with one error code");
        api.MapPost("/{id:guid}/move", MoveLeftovers).WithName("MoveLeftovers")
            .WithSummary("Send the records not answered yet (pending, and failed ones unless includeFailed is false) to another model, alias or route; answered records are never sent again");
        api.MapPut("/{id:guid}/settings", UpdateSettings).WithName("UpdateJobSettings").WithSummary("Change a job's rate cap or budget while it runs");
        api.MapGet("/{id:guid}/items", ListItems).WithName("ListItems")
            .WithSummary("A job's items, paged, filtered by state, error code and the value of an answer field (field=answer.sentiment&value=positive)");
        api.MapGet("/{id:guid}/fields/{field}/distribution", AnswerFieldDistribution).WithName("AnswerFieldDistribution")
            .WithSummary("How often each value of an answer field (answer.sentiment) occurs over the job's succeeded items: the top 20, the rest as other, and the answers without it as missing");
        api.MapGet("/{id:guid}/items/{itemId:long}", GetItem).WithName("GetItem").WithSummary("One item with its request, response and every attempt");
        api.MapGet("/{id:guid}/export", Export).WithName("ExportResults")
            .WithSummary("Stream results: format=jsonl (full records), openai (OpenAI batch output lines) or csv (fields=a,b adds record fields); lineage=true adds where each result came from (jsonl, csv)")
            .WithDescription("`fields=answer.sentiment,answer.topics` adds typed columns read from the answer parsed as JSON (a ```json fence tolerated) by a dotted path: " +
                "CSV columns (arrays and objects as compact JSON, empty when the answer is not JSON or lacks the path) and, in JSONL, an `answer_fields` object keyed by the path.");
        return api;
    }

    public static async Task<Results<Created<JobCreated>, ProblemHttpResult>> CreateJob(
        [FromForm] CreateJobForm form, [AsParameters] JobServices services, HttpContext context, CancellationToken cancellationToken)
    {
        if (!IdempotencyKey.TryRead(context.Request.Headers, out var key, out var keyError))
        {
            return TypedResults.Problem(keyError, title: "Invalid Idempotency-Key", statusCode: 400);
        }
        if (key is not null && await services.Importer.FindByKeyAsync(key, isBatch: false, cancellationToken) is { } earlier)
        {
            return await Replay(earlier, services, context, cancellationToken);
        }
        if (UnknownFormat(form) is { } unknown)
        {
            return unknown;
        }
        if (ToImportRequest(form) is not { } request)
        {
            return FileMissing(form);
        }
        if (form.File!.Length > services.Options.Value.MaxUploadBytes)
        {
            return TooLarge(services.Options.Value.MaxUploadBytes);
        }
        var (owned, overBudget) = await services.ForCallerAsync(request, cancellationToken);
        if (overBudget is not null)
        {
            return overBudget;
        }
        await using var content = form.File!.OpenReadStream();
        var outcome = await services.Importer.ImportAsync(owned! with { IdempotencyKey = key }, content, cancellationToken);
        switch (outcome)
        {
            case ImportExisting existing:
                return await Replay(existing.JobId, services, context, cancellationToken);
            case ImportRejected rejected:
                return Rejected(rejected);
        }
        var created = (ImportCreated)outcome;
        await services.Live.JobChangedAsync(created.JobId);
        var job = (await services.Queries.GetAsync(created.JobId, cancellationToken))!;
        return TypedResults.Created($"/api/jobs/{job.Id}", new JobCreated(job, created.Estimate));
    }

    /// <summary>The answer the first request with this key got: 201 with the job (as it is now) and its estimate.</summary>
    private static async Task<Results<Created<JobCreated>, ProblemHttpResult>> Replay(
        Guid jobId, JobServices services, HttpContext context, CancellationToken cancellationToken)
    {
        var job = (await services.Queries.GetAsync(jobId, cancellationToken))!;
        context.Response.Headers[IdempotencyKey.ReplayedHeader] = "true";
        return TypedResults.Created($"/api/jobs/{job.Id}", new JobCreated(job, job.Estimate));
    }

    public static async Task<Results<Ok<TemplatePreview>, ProblemHttpResult>> PreviewJob(
        [FromForm] CreateJobForm form, [AsParameters] JobServices services, CancellationToken cancellationToken)
    {
        if (UnknownFormat(form) is { } unknown)
        {
            return unknown;
        }
        if (ToImportRequest(form) is not { } request)
        {
            return FileMissing(form);
        }
        if (form.File!.Length > services.Options.Value.MaxUploadBytes)
        {
            return TooLarge(services.Options.Value.MaxUploadBytes);
        }
        await using var content = form.File!.OpenReadStream();
        return await services.Importer.PreviewAsync(request, content, cancellationToken) switch
        {
            ImportPreview preview => TypedResults.Ok(preview.Preview),
            var rejected => Rejected((ImportRejected)rejected),
        };
    }

    public static async Task<Results<Ok<PagedResult<JobDto>>, ValidationProblem>> ListJobs(
        [AsParameters] JobServices services, JobState? state, string? model, DateTimeOffset? from, DateTimeOffset? to,
        CancellationToken cancellationToken, int page = 1, int pageSize = 20)
    {
        if (page < 1 || pageSize is < 1 or > 500)
        {
            return Invalid.Field(page < 1 ? "page" : "pageSize", "page must be 1 or more and pageSize between 1 and 500");
        }
        return TypedResults.Ok(await services.Queries.ListAsync(new JobFilter(state, model, from, to), page, pageSize, cancellationToken));
    }

    public static async Task<Results<Ok<JobDto>, NotFound>> GetJob(Guid id, [AsParameters] JobServices services, CancellationToken cancellationToken) =>
        await services.Queries.GetAsync(id, cancellationToken) is { } job ? TypedResults.Ok(job) : TypedResults.NotFound();

    public static async Task<Results<Ok<IReadOnlyList<JobEventDto>>, NotFound>> ListJobEvents(Guid id, [AsParameters] JobServices services, CancellationToken cancellationToken) =>
        await services.Queries.EventsAsync(id, cancellationToken) is { } events ? TypedResults.Ok(events) : TypedResults.NotFound();

    public static async Task<Results<Ok<JobDto>, NotFound, ProblemHttpResult>> PauseJob(Guid id, [AsParameters] JobServices services, CancellationToken cancellationToken) =>
        await Answer(id, await services.Commands.PauseAsync(id, null, cancellationToken), services, cancellationToken);

    public static async Task<Results<Ok<JobDto>, NotFound, ProblemHttpResult>> ResumeJob(Guid id, [AsParameters] JobServices services, CancellationToken cancellationToken) =>
        await Answer(id, await services.Commands.ResumeAsync(id, cancellationToken), services, cancellationToken);

    public static async Task<Results<Ok<JobDto>, NotFound, ProblemHttpResult>> CancelJob(Guid id, [AsParameters] JobServices services, CancellationToken cancellationToken) =>
        await Answer(id, await services.Commands.CancelAsync(id, cancellationToken), services, cancellationToken);

    public static async Task<Results<Ok<RetryFailedResult>, NotFound, ProblemHttpResult>> RetryFailed(
        Guid id, RetryFailedRequest? request, [AsParameters] JobServices services, CancellationToken cancellationToken)
    {
        var result = await services.Commands.RetryFailedAsync(id, request?.ErrorCode, cancellationToken);
        return result.Outcome switch
        {
            CommandOutcome.NotFound => TypedResults.NotFound(),
            CommandOutcome.Conflict => TypedResults.Problem(result.Message, statusCode: 409),
            _ => TypedResults.Ok(new RetryFailedResult(result.Affected)),
        };
    }

    public static async Task<Results<Ok<MoveLeftoversResult>, NotFound, ProblemHttpResult, ValidationProblem>> MoveLeftovers(
        Guid id, MoveLeftoversRequest request, [AsParameters] JobServices services, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Model))
        {
            return Invalid.Field("model", "model is required: the model, alias or route the unanswered records go to");
        }
        var result = await services.Commands.MoveLeftoversAsync(id, request, cancellationToken);
        return result.Outcome switch
        {
            CommandOutcome.NotFound => TypedResults.NotFound(),
            CommandOutcome.Invalid => Invalid.Field("model", result.Message!),
            CommandOutcome.Conflict => TypedResults.Problem(result.Message, statusCode: 409),
            _ => await services.Queries.GetAsync(id, cancellationToken) is { } job
                ? TypedResults.Ok(new MoveLeftoversResult(job, result.Requeued, result.Affected))
                : TypedResults.NotFound(),
        };
    }

    public static async Task<Results<Ok<JobDto>, NotFound, ProblemHttpResult, ValidationProblem>> UpdateSettings(
        Guid id, JobSettingsRequest request, [AsParameters] JobServices services, CancellationToken cancellationToken)
    {
        if (request.RequestsPerMinuteCap is < 1 || request.BudgetUsd is <= 0)
        {
            return Invalid.Field(request.RequestsPerMinuteCap is < 1 ? "requestsPerMinuteCap" : "budgetUsd", "requestsPerMinuteCap must be 1 or more and budgetUsd positive (or null to remove them)");
        }
        return (await Answer(id, await services.Commands.UpdateSettingsAsync(id, request, cancellationToken), services, cancellationToken)).Result switch
        {
            Ok<JobDto> ok => ok,
            NotFound notFound => notFound,
            ProblemHttpResult problem => problem,
            var other => throw new InvalidOperationException($"unexpected answer {other}"),
        };
    }

    public static async Task<Results<Ok<PagedResult<ItemSummaryDto>>, NotFound, ValidationProblem>> ListItems(
        Guid id, [AsParameters] JobServices services, ItemState? state, string? errorCode, CancellationToken cancellationToken, int page = 1, int pageSize = 50,
        string? field = null, string? value = null)
    {
        if (page < 1 || pageSize is < 1 or > 1000)
        {
            return Invalid.Field(page < 1 ? "page" : "pageSize", "page must be 1 or more and pageSize between 1 and 1000");
        }
        string[]? path = null;
        if (field is not null || value is not null)
        {
            if (field is null || value is null)
            {
                return Invalid.Field(field is null ? "field" : "value", "field and value go together: field=answer.<path>&value=<text>");
            }
            (path, var error) = AnswerFields.Parse(field);
            if (error is not null)
            {
                return Invalid.Field("field", error);
            }
        }
        return await services.Queries.ItemsAsync(id, state, errorCode, page, pageSize, cancellationToken, path, value) is { } items
            ? TypedResults.Ok(items)
            : TypedResults.NotFound();
    }

    public static async Task<Results<Ok<FieldDistribution>, NotFound, ValidationProblem>> AnswerFieldDistribution(
        Guid id, string field, [AsParameters] JobServices services, CancellationToken cancellationToken)
    {
        var (path, error) = AnswerFields.Parse(field);
        if (error is not null)
        {
            return Invalid.Field("field", error);
        }
        if (await services.Queries.GetAsync(id, cancellationToken) is null)
        {
            return TypedResults.NotFound();
        }
        return TypedResults.Ok(await services.AnswerFields.DistributionAsync(id, field, path!, cancellationToken));
    }

    public static async Task<Results<Ok<ItemDetailDto>, NotFound>> GetItem(Guid id, long itemId, [AsParameters] JobServices services, CancellationToken cancellationToken) =>
        await services.Queries.ItemAsync(id, itemId, cancellationToken) is { } item ? TypedResults.Ok(item) : TypedResults.NotFound();

    public static async Task<Results<PushStreamHttpResult, NotFound, ValidationProblem, ProblemHttpResult>> Export(
        Guid id, [AsParameters] JobServices services, CancellationToken cancellationToken, string format = "jsonl", string? fields = null, ItemState? state = null,
        string? lineage = null)
    {
        if (!Enum.TryParse<ExportFormat>(format, ignoreCase: true, out var exportFormat))
        {
            return Invalid.Field("format", "format must be jsonl, openai or csv");
        }
        // Read by hand rather than bound as bool, so a bad value gets the ValidationProblem every other parameter gets.
        var withLineage = false;
        if (lineage is not null && !bool.TryParse(lineage, out withLineage))
        {
            return Invalid.Field("lineage", "lineage must be true or false");
        }
        if (withLineage && exportFormat == ExportFormat.OpenAi)
        {
            return Invalid.Field("lineage", "lineage applies to the jsonl and csv formats; the openai format keeps OpenAI's batch output shape");
        }
        if (await services.Queries.GetAsync(id, cancellationToken) is not { } exported)
        {
            return TypedResults.NotFound();
        }
        if (exported.Purged is { } purged)
        {
            // Retention deleted the records: say so rather than stream an empty file that looks like a job without results.
            return TypedResults.Problem(
                $"the job's records and answers were purged at {purged.At:u} ({purged.Records:N0} records); its counters and cost ledger remain at /api/jobs/{id}",
                title: "Purged", statusCode: StatusCodes.Status410Gone, extensions: new Dictionary<string, object?> { ["purgedAt"] = purged.At, ["records"] = purged.Records });
        }
        var exportFields = new List<ExportField>();
        foreach (var field in (fields ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!AnswerFields.IsAnswerField(field))
            {
                exportFields.Add(new ExportField(field, null));
                continue;
            }
            var (path, error) = AnswerFields.Parse(field);
            if (error is not null)
            {
                return Invalid.Field("fields", error);
            }
            if (exportFormat == ExportFormat.OpenAi)
            {
                return Invalid.Field("fields", "answer fields apply to the jsonl and csv formats; the openai format keeps OpenAI's batch output shape");
            }
            exportFields.Add(new ExportField(field, path));
        }
        var states = state is { } s ? new[] { s } : [];
        var (contentType, extension) = exportFormat == ExportFormat.Csv ? ("text/csv", "csv") : ("application/x-ndjson", "jsonl");
        return TypedResults.Stream(stream => services.Exporter.WriteAsync(stream, id, exportFormat, exportFields, states, withLineage, cancellationToken),
            contentType, $"job-{id}-{exportFormat.ToString().ToLowerInvariant()}.{extension}");
    }

    private static async Task<Results<Ok<JobDto>, NotFound, ProblemHttpResult>> Answer(Guid id, CommandResult result, JobServices services, CancellationToken cancellationToken) =>
        result.Outcome switch
        {
            CommandOutcome.NotFound => TypedResults.NotFound(),
            CommandOutcome.Conflict => TypedResults.Problem(result.Message, statusCode: 409, title: "Conflict"),
            _ => TypedResults.Ok((await services.Queries.GetAsync(id, cancellationToken))!),
        };

    private static JobInputFormat? FormatOf(string name) => name.Trim('.').ToLowerInvariant() switch
    {
        "csv" => JobInputFormat.Csv,
        "openai-batch" or "openai" or "batch" => JobInputFormat.OpenAiBatch,
        "jsonl" or "json" or "ndjson" => JobInputFormat.Jsonl,
        _ => null,
    };

    /// <summary>Imports a form's file as <c>POST /api/jobs</c> does (without an Idempotency-Key): the new job, or the problem that refused it.</summary>
    internal static async Task<(Guid? JobId, ProblemHttpResult? Problem)> ImportFormAsync(CreateJobForm form, JobServices services, CancellationToken cancellationToken)
    {
        if (UnknownFormat(form) is { } unknown)
        {
            return (null, unknown);
        }
        if (ToImportRequest(form) is not { } request)
        {
            return (null, FileMissing(form));
        }
        if (form.File!.Length > services.Options.Value.MaxUploadBytes)
        {
            return (null, TooLarge(services.Options.Value.MaxUploadBytes));
        }
        var (owned, overBudget) = await services.ForCallerAsync(request, cancellationToken);
        if (overBudget is not null)
        {
            return (null, overBudget);
        }
        await using var content = form.File.OpenReadStream();
        return await services.Importer.ImportAsync(owned!, content, cancellationToken) switch
        {
            ImportCreated created => (created.JobId, null),
            ImportRejected rejected => (null, Rejected(rejected)),
            var other => throw new InvalidOperationException($"an import without a key ended with {other}"),
        };
    }

    /// <summary>
    /// A format the caller names must be one we read (a file's extension that names none means JSONL), and an endpoint
    /// one we send to.
    /// </summary>
    private static ProblemHttpResult? UnknownFormat(CreateJobForm form) =>
        form.Format is { Length: > 0 } name && FormatOf(name) is null
            ? TypedResults.Problem($"Unknown format \"{name}\": use jsonl, csv or openai-batch.", title: "Unknown format", statusCode: 400)
        : JobEndpoints.Parse(form.Endpoint) is null
            ? TypedResults.Problem($"Unknown endpoint \"{form.Endpoint}\": use {JobEndpoints.ChatCompletionsPath} or {JobEndpoints.EmbeddingsPath}.",
                title: "Unknown endpoint", statusCode: 400)
        : JobModes.Parse(form.Mode) is null
            ? TypedResults.Problem($"Unknown mode \"{form.Mode}\": use {JobModes.RealtimeName}, {JobModes.ProviderBatchName} or {JobModes.AutoName}.",
                title: "Unknown mode", statusCode: 400)
        : null;

    private static JobImportRequest? ToImportRequest(CreateJobForm form)
    {
        if (form.File is null || form.File.Length == 0)
        {
            return null;
        }
        var format = FormatOf(form.Format is { Length: > 0 } named ? named : Path.GetExtension(form.File.FileName)) ?? JobInputFormat.Jsonl;
        return new JobImportRequest(format, form.Model, form.Name, form.SystemTemplate, form.UserTemplate, form.IdField ?? "id",
            form.Temperature, form.MaxTokens, form.ResponseFormat, form.Metadata, form.BudgetUsd, form.StartPaused, Dedup: form.Dedup,
            Endpoint: JobEndpoints.Parse(form.Endpoint)!.Value, Dimensions: form.Dimensions, ResponseCacheTtlSeconds: form.ResponseCacheTtlSeconds,
            Mode: JobModes.Parse(form.Mode)!.Value, Deadline: form.Deadline);
    }

    private static ProblemHttpResult FileMissing(CreateJobForm form) => TypedResults.Problem(
        form.File is null ? "Send the records as a multipart field named `file`." : "The file is empty: it has no records.",
        title: form.File is null ? "No file" : "Empty file", statusCode: 400);

    private static ProblemHttpResult TooLarge(long limit) => TypedResults.Problem(
        $"The file is larger than the limit of {limit:N0} bytes (Api:MaxUploadBytes). Split it into several jobs.",
        title: "File too large", statusCode: StatusCodes.Status413PayloadTooLarge);

    private static ProblemHttpResult Rejected(ImportRejected rejected)
    {
        var first = rejected.Errors[0];
        var extensions = new Dictionary<string, object?>
        {
            ["errors"] = rejected.Errors.Select(e => new { line = e.Line, message = e.Message }).ToList(),
        };
        if (rejected.KnownModels is not null)
        {
            extensions["knownModels"] = rejected.KnownModels;
        }
        return TypedResults.Problem(
            detail: first.Line > 0 ? $"line {first.Line}: {first.Message}" : first.Message,
            title: rejected.Title, statusCode: 400, extensions: extensions);
    }
}

/// <summary>
/// The optional `Idempotency-Key` header of the create endpoints: 1-200 printable ASCII characters, stored with the job in
/// the transaction that creates it, so a retry after a timeout or a crash finds the job or finds nothing.
/// </summary>
public static class IdempotencyKey
{
    public const string Header = "Idempotency-Key";
    /// <summary>Set on an answer that replays the job an earlier request created (Stripe's name).</summary>
    public const string ReplayedHeader = "Idempotent-Replayed";
    public const int MaxLength = 200;

    /// <summary>False with a message when the header is present but unusable; true with a null key when it is absent.</summary>
    public static bool TryRead(IHeaderDictionary headers, out string? key, out string? error)
    {
        key = null;
        error = null;
        if (!headers.TryGetValue(Header, out var values))
        {
            return true;
        }
        var value = values.Count == 1 ? values[0] ?? "" : null;
        if (value is null)
        {
            error = $"Send one {Header} header, not {values.Count}.";
        }
        else if (value.Length is 0 or > MaxLength || !value.All(c => c is >= ' ' and <= '~'))
        {
            error = $"{Header} must be 1 to {MaxLength} printable ASCII characters (a UUID is a good key); it has {value.Length}.";
        }
        key = error is null ? value : null;
        return error is null;
    }

    /// <summary>Describes the header in the OpenAPI document of an endpoint that honours it.</summary>
    public static RouteHandlerBuilder WithIdempotencyKeyHeader(this RouteHandlerBuilder builder) =>
        builder.AddOpenApiOperationTransformer((operation, _, _) =>
        {
            operation.Parameters ??= [];
            operation.Parameters.Add(new OpenApiParameter
            {
                Name = Header,
                In = ParameterLocation.Header,
                Required = false,
                Description = $"Optional, 1-{MaxLength} printable characters (e.g. a UUID). A request repeated with the same key answers with the job or batch " +
                    "the first one created and creates nothing, so a client may retry after a timeout. A key used again with another body still answers the first job.",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = MaxLength },
                Example = System.Text.Json.Nodes.JsonValue.Create("3f2b8c1e-5d4a-4e7b-9a60-2c1d8e7f4b59"),
            });
            return Task.CompletedTask;
        });
}

public sealed class JobServices(JobImporter importer, JobQueries queries, JobCommands commands, ResultExporter exporter, LivePublisher live, IOptions<ApiOptions> options,
    AnswerFieldQueries answerFields, CallerAccess access, ApiKeyStore keys)
{
    public CallerAccess Access { get; } = access;
    public ApiKeyStore Keys { get; } = keys;

    /// <summary>The import as the caller's team and key make it; a key whose monthly budget is spent makes no job (429).</summary>
    public async Task<(JobImportRequest? Request, ProblemHttpResult? Problem)> ForCallerAsync(JobImportRequest request, CancellationToken cancellationToken) =>
        await Keys.BudgetReachedAsync(Access.KeyId, cancellationToken) is { } reached
            ? (null, TypedResults.Problem($"This key's monthly budget of {reached.Budget:0.######} USD is spent ({reached.Spent:0.######} USD this month); it makes no new job until next month or a larger budget.",
                title: "Monthly budget reached", statusCode: StatusCodes.Status429TooManyRequests))
            : (request with { Team = Access.Team, ApiKeyId = Access.KeyId }, null);

    public AnswerFieldQueries AnswerFields { get; } = answerFields;
    public IOptions<ApiOptions> Options { get; } = options;
    public JobImporter Importer { get; } = importer;
    public JobQueries Queries { get; } = queries;
    public JobCommands Commands { get; } = commands;
    public ResultExporter Exporter { get; } = exporter;
    public LivePublisher Live { get; } = live;
}
