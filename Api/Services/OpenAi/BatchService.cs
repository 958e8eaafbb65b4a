using AspireBatch.Api.Services.Access;
using System.Diagnostics;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Data.Live;
using AspireBatch.Data;
using AspireBatch.Data.Entities;
using AspireBatch.Data.Lifecycle;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Services.OpenAi;

/// <summary>A batch, or why the request was refused; <see cref="Replayed"/> when an earlier request with the same Idempotency-Key made it.</summary>
public sealed record BatchOutcome(OpenAiBatch? Batch, OpenAiFailure? Failure, bool Replayed = false)
{
    public static implicit operator BatchOutcome(OpenAiBatch batch) => new(batch, null);
    public static implicit operator BatchOutcome(OpenAiFailure failure) => new(null, failure);
}

/// <summary>
/// OpenAI's Batch API over the job engine: a batch is a job with <see cref="Job.IsBatch"/> set, its id is
/// `batch_` + the job's id in "N" format, and its status, counts and files are read from the job.
/// </summary>
public sealed class BatchService(BatchDbContext db, JobImporter importer, JobCommands commands, FileStore files, LivePublisher live, TimeProvider time,
    CallerAccess access, ApiKeyStore keys)
{
    public const string CompletionWindow = "24h";
    public const int MaxListLimit = 100;
    public const int DefaultListLimit = 20;
    private const string IdPrefix = "batch_";
    private static readonly TimeSpan Window = TimeSpan.FromHours(24);

    public static string ToBatchId(Guid jobId) => IdPrefix + jobId.ToString("N");

    public static Guid? ParseBatchId(string? id) =>
        id is not null && id.StartsWith(IdPrefix, StringComparison.Ordinal) && Guid.TryParseExact(id[IdPrefix.Length..], "N", out var jobId) ? jobId : null;

    /// <summary>
    /// Validates the request, then imports the input file through the job importer. A file with bad lines still makes a
    /// batch, as at OpenAI: a failed job without items whose state reason holds the line errors.
    /// </summary>
    public async Task<BatchOutcome> CreateAsync(JsonElement body, string? idempotencyKey, CancellationToken cancellationToken)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return OpenAiFailure.BadRequest("The request body must be a JSON object.");
        }
        if (RequiredString(body, "input_file_id", out var fileId) is { } missingFile)
        {
            return missingFile;
        }
        if (RequiredString(body, "endpoint", out var endpoint) is { } missingEndpoint)
        {
            return missingEndpoint;
        }
        if (endpoint is not (JobEndpoints.ChatCompletionsPath or JobEndpoints.EmbeddingsPath))
        {
            return OpenAiFailure.BadRequest(
                $"Invalid value for 'endpoint': '{endpoint}'. Supported values are: '{JobEndpoints.ChatCompletionsPath}' and '{JobEndpoints.EmbeddingsPath}'.",
                "endpoint", "invalid_value");
        }
        if (RequiredString(body, "completion_window", out var window) is { } missingWindow)
        {
            return missingWindow;
        }
        if (window != CompletionWindow)
        {
            return OpenAiFailure.BadRequest($"Invalid value for 'completion_window': '{window}'. Supported values are: '{CompletionWindow}'.",
                "completion_window", "invalid_value");
        }
        if (MetadataError(body, out var metadata) is { } badMetadata)
        {
            return badMetadata;
        }
        if (ExpiresAfter.FromJson(body, "output_expires_after", out var outputExpiresAfter) is { } badExpiry)
        {
            return badExpiry;
        }

        var file = await db.Files.AsNoTracking().Where(f => f.Id == fileId).Select(f => new { f.FileName, f.Purpose, f.Team }).FirstOrDefaultAsync(cancellationToken);
        if (file is null || !access.Sees(file.Team))
        {
            return OpenAiFailure.NotFound($"No such File object: {fileId}", "input_file_id");
        }
        if (file.Purpose != FileStore.BatchPurpose)
        {
            return OpenAiFailure.BadRequest($"The file {fileId} has purpose '{file.Purpose}'; a batch's input file must be uploaded with purpose 'batch'.",
                "input_file_id", "invalid_value");
        }

        var request = new JobImportRequest(JobInputFormat.OpenAiBatch, RequestedModel: null, Name: file.FileName, Metadata: metadata,
            IsBatch: true, InputFileId: fileId, IdempotencyKey: idempotencyKey, Endpoint: JobEndpoints.Parse(endpoint)!.Value,
            Team: access.Team, ApiKeyId: access.KeyId, OutputExpiresAfterSeconds: outputExpiresAfter);
        if (await keys.BudgetReachedAsync(access.KeyId, cancellationToken) is { } reached)
        {
            // OpenAI's answer for an account out of credit, so SDKs raise their usual error.
            return new OpenAiFailure(StatusCodes.Status429TooManyRequests,
                $"This key's monthly budget of {reached.Budget:0.######} USD is spent ({reached.Spent:0.######} USD this month).", Code: "insufficient_quota", Type: "insufficient_quota");
        }
        ImportOutcome? outcome = null;
        var found = await files.ReadUploadAsync(fileId, async content => outcome = await importer.ImportAsync(request, content, cancellationToken), cancellationToken);
        if (!found || outcome is null)
        {
            return OpenAiFailure.NotFound($"No such File object: {fileId}", "input_file_id");
        }
        if (outcome is ImportExisting existing)
        {
            return new BatchOutcome(await GetAsync(ToBatchId(existing.JobId), cancellationToken), null, Replayed: true);
        }
        var jobId = outcome switch
        {
            ImportCreated created => created.JobId,
            ImportRejected rejected => await CreateFailedAsync(request, rejected, cancellationToken),
            _ => throw new UnreachableException(),
        };
        if (jobId is not { } newJob)
        {
            // A concurrent request with the same key stored its (failed) batch first.
            return new BatchOutcome(await FindByKeyAsync(idempotencyKey!, cancellationToken), null, Replayed: true);
        }
        await live.JobChangedAsync(newJob);
        return (await GetAsync(ToBatchId(newJob), cancellationToken))!;
    }

    /// <summary>The batch an earlier request with this Idempotency-Key created.</summary>
    public async Task<OpenAiBatch?> FindByKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        await importer.FindByKeyAsync(idempotencyKey, isBatch: true, cancellationToken) is { } jobId
            ? await GetAsync(ToBatchId(jobId), cancellationToken)
            : null;

    public async Task<OpenAiBatch?> GetAsync(string batchId, CancellationToken cancellationToken)
    {
        var job = await FindAsync(batchId, cancellationToken);
        return job is null ? null : await ToBatchAsync(job, cancellationToken);
    }

    /// <summary>Newest first; <paramref name="after"/> is the id of the last batch of the previous page.</summary>
    public async Task<OpenAiList<OpenAiBatch>?> ListAsync(string? after, int limit, CancellationToken cancellationToken)
    {
        var query = db.Jobs.AsNoTracking();
        if (!string.IsNullOrEmpty(after))
        {
            var cursor = await FindAsync(after, cancellationToken);
            if (cursor is null)
            {
                return null;
            }
            // Row comparison keeps the order total when two batches share a timestamp.
            query = db.Jobs.FromSql($"SELECT * FROM jobs WHERE (created_at, id) < ({cursor.CreatedAt}, {cursor.Id})").AsNoTracking();
        }
        if (access.TeamFilter is { } team)
        {
            query = query.Where(j => j.Team == team);
        }
        var jobs = await query.Where(j => j.IsBatch).OrderByDescending(j => j.CreatedAt).ThenByDescending(j => j.Id)
            .Take(limit + 1).ToListAsync(cancellationToken);
        var page = new List<OpenAiBatch>();
        foreach (var job in jobs.Take(limit))
        {
            page.Add(await ToBatchAsync(job, cancellationToken));
        }
        return new OpenAiList<OpenAiBatch>(page, page.FirstOrDefault()?.Id, page.LastOrDefault()?.Id, jobs.Count > limit);
    }

    /// <summary>Cancels what has not started; requests in flight finish and keep their results (`cancelling` until they have).</summary>
    public async Task<BatchOutcome> CancelAsync(string batchId, CancellationToken cancellationToken)
    {
        var job = await FindAsync(batchId, cancellationToken);
        if (job is null)
        {
            return OpenAiFailure.NotFound($"No such Batch object: {batchId}", "batch_id");
        }
        if (job.State != JobState.Cancelled)
        {
            var result = await commands.CancelAsync(job.Id, cancellationToken);
            if (result.Outcome == CommandOutcome.Conflict)
            {
                var current = await ToBatchAsync((await FindAsync(batchId, cancellationToken))!, cancellationToken);
                return new OpenAiFailure(StatusCodes.Status409Conflict, $"Cannot cancel a batch with status '{current.Status}'.");
            }
        }
        return (await GetAsync(batchId, cancellationToken))!;
    }

    private async Task<Job?> FindAsync(string batchId, CancellationToken cancellationToken) =>
        ParseBatchId(batchId) is { } id
            ? await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id && j.IsBatch, cancellationToken)
            : null;

    private async Task<OpenAiBatch> ToBatchAsync(Job job, CancellationToken cancellationToken)
    {
        var done = job.SucceededItems + job.FailedItems + job.CancelledItems;
        var status = job.State switch
        {
            JobState.Queued or JobState.Running or JobState.Paused => "in_progress",
            JobState.Completed => "completed",
            JobState.Failed => "failed",
            JobState.Cancelled when done < job.TotalItems => "cancelling",
            JobState.Cancelled => "cancelled",
            _ => throw new UnreachableException(),
        };
        var (outputFileId, errorFileId) = status is "completed" or "cancelled"
            ? await files.EnsureBatchFilesAsync(job.Id, job.SucceededItems, job.FailedItems + job.CancelledItems, cancellationToken)
            : (null, null);
        BatchErrors? errors = null;
        if (job.State == JobState.Failed && job.StateReason is { } reason && reason.StartsWith('{'))
        {
            errors = JsonSerializer.Deserialize<BatchErrors>(reason);
        }
        JsonElement? metadata = job.Metadata is null ? null : JsonDocument.Parse(job.Metadata).RootElement.Clone();
        var started = job.StartedAt ?? (job.TotalItems > 0 ? job.CreatedAt : null);
        return new OpenAiBatch(
            Id: ToBatchId(job.Id),
            Endpoint: job.Endpoint.Path(),
            Model: job.ModelName ?? (string.IsNullOrEmpty(job.RequestedModel) ? null : job.RequestedModel),
            Errors: errors,
            InputFileId: job.InputFileId ?? "",
            CompletionWindow: CompletionWindow,
            Status: status,
            OutputFileId: outputFileId,
            ErrorFileId: errorFileId,
            CreatedAt: Unix(job.CreatedAt)!.Value,
            InProgressAt: status is "validating" or "failed" ? null : Unix(started),
            ExpiresAt: Unix(job.CreatedAt + Window),
            // Output files are registered as the batch is read, so finalizing takes no visible time.
            FinalizingAt: status == "completed" ? Unix(job.CompletedAt) : null,
            CompletedAt: status == "completed" ? Unix(job.CompletedAt) : null,
            FailedAt: status == "failed" ? Unix(job.CompletedAt ?? job.CreatedAt) : null,
            ExpiredAt: null,
            CancellingAt: job.State == JobState.Cancelled ? Unix(job.CancelledAt) : null,
            CancelledAt: status == "cancelled" ? Unix(job.CancelledAt) : null,
            RequestCounts: new BatchRequestCounts(job.TotalItems, job.SucceededItems, job.FailedItems),
            Usage: new BatchUsage(job.InputTokens, job.OutputTokens),
            Metadata: metadata);
    }

    /// <summary>
    /// The job importer stores nothing for a bad file; the batch still exists at OpenAI, so keep it as a failed job without items.
    /// Null when a request with the same Idempotency-Key stored its batch first.
    /// </summary>
    private async Task<Guid?> CreateFailedAsync(JobImportRequest request, ImportRejected rejected, CancellationToken cancellationToken)
    {
        var errors = new BatchErrors(rejected.Errors
            .Select(e => new BatchError("invalid_request", e.Message, null, e.Line > 0 ? e.Line : null)).ToList());
        var now = time.GetUtcNow();
        var job = new Job
        {
            Id = Guid.CreateVersion7(),
            Name = request.Name,
            InputFormat = JobInputFormat.OpenAiBatch,
            Endpoint = request.Endpoint,
            Team = request.Team,
            ApiKeyId = request.ApiKeyId,
            RequestedModel = "",
            Metadata = request.Metadata,
            StateReason = JsonSerializer.Serialize(errors),
            TraceParent = Activity.Current?.Id,
            InputFileId = request.InputFileId,
            IsBatch = true,
            IdempotencyKey = request.IdempotencyKey,
            OutputExpiresAfterSeconds = request.OutputExpiresAfterSeconds,
            CreatedAt = now,
            // No template or parameter hash: a batch's lines hold their own requests, and these were refused unread.
        };
        db.Jobs.Add(job);
        db.JobEvents.Add(JobLifecycle.FailedAtCreation(job, $"the input file was refused: {errors.Data.Count} error(s)"));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (JobImporter.IsRepeatedKey(e))
        {
            db.Entry(job).State = EntityState.Detached;
            return null;
        }
        return job.Id;
    }

    private static OpenAiFailure? RequiredString(JsonElement body, string name, out string value)
    {
        value = "";
        if (!body.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
        {
            return OpenAiFailure.BadRequest($"Missing required parameter: '{name}'.", name, "missing_required_parameter");
        }
        if (property.ValueKind != JsonValueKind.String)
        {
            return OpenAiFailure.BadRequest($"Invalid type for '{name}': expected a string, but got {property.ValueKind.ToString().ToLowerInvariant()} instead.",
                name, "invalid_type");
        }
        value = property.GetString()!;
        return null;
    }

    /// <summary>OpenAI's metadata: at most 16 string values, keys up to 64 characters, values up to 512.</summary>
    private static OpenAiFailure? MetadataError(JsonElement body, out string? json)
    {
        json = null;
        if (!body.TryGetProperty("metadata", out var metadata) || metadata.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (metadata.ValueKind != JsonValueKind.Object)
        {
            return OpenAiFailure.BadRequest("Invalid type for 'metadata': expected an object.", "metadata", "invalid_type");
        }
        var count = 0;
        foreach (var property in metadata.EnumerateObject())
        {
            count++;
            if (property.Value.ValueKind != JsonValueKind.String)
            {
                return OpenAiFailure.BadRequest($"Invalid type for 'metadata.{property.Name}': expected a string.", $"metadata.{property.Name}", "invalid_type");
            }
            if (property.Name.Length > 64 || property.Value.GetString()!.Length > 512)
            {
                return OpenAiFailure.BadRequest("Invalid 'metadata': keys may have at most 64 characters and values at most 512.", "metadata", "invalid_value");
            }
        }
        if (count > 16)
        {
            return OpenAiFailure.BadRequest("Invalid 'metadata': at most 16 key-value pairs are allowed.", "metadata", "invalid_value");
        }
        json = metadata.GetRawText();
        return null;
    }

    private static long? Unix(DateTimeOffset? at) => at?.ToUnixTimeSeconds();
}
