using System.Collections.Concurrent;
using System.Diagnostics;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using AspireBatch.Data.Lifecycle;
using AspireBatch.Data.Live;
using AspireBatch.Worker.Execution;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AspireBatch.Worker.NativeBatch;

/// <summary>
/// Runs provider-native batches. Each tick it asks the batches of stopped jobs (paused, cancelled, auto past its cutoff)
/// to stop, packs the pending records of batch jobs into new batches, and drives every open batch one stored stage at a
/// time: Packing (upload the file) → Uploaded (find ours by metadata, else create) → Submitted (poll with backoff,
/// cancel when asked) → Ended (write each output line's result, fenced by the batch's lease token, then give back the
/// rest) → Done. A batch is driven by one worker at a time, under a Postgres session advisory lock that dies with its
/// worker's connection; a worker that was killed leaves the stored stage, and whoever takes the lock next resumes it.
/// </summary>
public sealed class NativeBatchEngine(
    NpgsqlDataSource dataSource,
    ItemLifecycle items,
    JobLifecycle jobLifecycle,
    ProviderBatchLifecycle batches,
    JobDirectory jobs,
    TargetDirectory targets,
    NativeBatchPlanner planner,
    ProviderBatchClient client,
    LivePublisher live,
    IOptions<NativeBatchOptions> options,
    IOptions<WorkerOptions> workerOptions,
    TimeProvider time,
    ILogger<NativeBatchEngine> logger) : BackgroundService
{
    /// <summary>The metadata key a batch is sent with, holding our provider_batches id: how a batch created before a crash is found again.</summary>
    public const string MetadataKey = "aspirebatch_batch_id";
    // The first key of our advisory locks (the second is the batch id's hash), so they never meet other locks.
    private const int LockClass = 0x4E42; // "NB"
    private readonly ConcurrentDictionary<Guid, Task> _driving = new();

    private sealed record BatchRow(
        Guid Id, Guid JobId, Guid ProviderId, string Model, JobEndpoint Endpoint, ProviderBatchState State, Guid LeaseToken,
        string? InputFileId, string? RemoteBatchId, string? OutputFileId, string? ErrorFileId, decimal InputPrice, decimal OutputPrice,
        DateTimeOffset? CancelRequestedAt, DateTimeOffset? CancelSentAt, string? CancelReason, int Polls, DateTimeOffset? NextPollAt,
        string? TraceParent, DateTimeOffset CreatedAt, DateTimeOffset? SubmittedAt, DateTimeOffset? EndedAt, string? RemoteStatus, string? Error);

    private sealed record BatchItem(long Id, string CustomId, string Payload, int Attempts, int EstimatedInputTokens);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var tick = TimeSpan.FromMilliseconds(options.Value.TickMilliseconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await batches.RequestCancelsAsync(planner.RealtimeReserve, stoppingToken);
                await PackAsync(stoppingToken);
                await DriveOpenBatchesAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Provider batches: a tick failed; trying again shortly");
            }
            try
            {
                await Task.Delay(tick, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        // A step cut short by the stop leaves its stored stage; the next worker resumes from it.
        await Task.WhenAll(_driving.Values).WaitAsync(TimeSpan.FromSeconds(5), CancellationToken.None).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    /// <summary>Packs the pending records of running batch jobs into new provider batches (each up to MaxLines, cut to MaxBytes before upload).</summary>
    private async Task PackAsync(CancellationToken cancellationToken)
    {
        foreach (var job in jobs.Running.Where(j => j.Mode != JobMode.Realtime && planner.BatchAllowed(j)))
        {
            if (await planner.BatchTargetAsync(job, cancellationToken) is not { } target)
            {
                continue;
            }
            var links = job.TraceParent is { } parent && ActivityContext.TryParse(parent, null, out var jobContext) ? new[] { new ActivityLink(jobContext) } : null;
            using var activity = WorkerTelemetry.Source.StartActivity("provider batch pack", ActivityKind.Internal, parentContext: default, links: links);
            var batch = new NewProviderBatch(Guid.CreateVersion7(), job.Id, target.ProviderId, target.Model, job.Endpoint, Guid.NewGuid(),
                target.BatchInputPricePerMTok, target.BatchOutputPricePerMTok, target.InputPricePerMTok, target.OutputPricePerMTok, activity?.Id);
            var taken = await items.PackProviderBatchAsync(batch, options.Value.MaxLines, cancellationToken);
            if (taken == 0)
            {
                activity?.SetTag("aspirebatch.provider_batch.lines", 0);
                continue;
            }
            Tag(activity, batch.Id, job.Id, null);
            activity?.SetTag("aspirebatch.provider_batch.lines", taken);
            activity?.SetTag("gen_ai.provider.name", target.ProviderName);
            activity?.SetTag("gen_ai.request.model", target.Model);
            logger.LogInformation("Provider batch {BatchId}: packed {Lines} record(s) of job {JobId} for {Target}", batch.Id, taken, job.Id, target.Describe);
            await HoldAsync("packed", batch.Id, cancellationToken);
        }
    }

    private async Task DriveOpenBatchesAsync(CancellationToken cancellationToken)
    {
        foreach (var done in _driving.Where(d => d.Value.IsCompleted).Select(d => d.Key).ToList())
        {
            _driving.TryRemove(done, out _);
        }
        var free = options.Value.MaxConcurrentBatches - _driving.Count;
        if (free <= 0)
        {
            return;
        }
        await using var command = dataSource.CreateCommand("""
            SELECT id FROM provider_batches
            WHERE state <> @done AND (next_poll_at IS NULL OR next_poll_at <= now() OR (cancel_requested_at IS NOT NULL AND cancel_sent_at IS NULL))
            ORDER BY created_at LIMIT @limit
            """);
        command.Parameters.AddWithValue("done", (int)ProviderBatchState.Done);
        command.Parameters.AddWithValue("limit", free + _driving.Count);
        var due = new List<Guid>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                due.Add(reader.GetGuid(0));
            }
        }
        foreach (var id in due.Where(id => !_driving.ContainsKey(id)).Take(free))
        {
            _driving[id] = Task.Run(() => DriveAsync(id, cancellationToken), CancellationToken.None);
        }
    }

    /// <summary>Takes the batch's lock (or leaves it to the worker that has it) and runs its stages until one has to wait.</summary>
    private async Task DriveAsync(Guid id, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using (var take = new NpgsqlCommand("SELECT pg_try_advisory_lock(@class, hashtext(@id::text))", connection))
            {
                take.Parameters.AddWithValue("class", LockClass);
                take.Parameters.AddWithValue("id", id);
                if (await take.ExecuteScalarAsync(cancellationToken) is not true)
                {
                    return;
                }
            }
            try
            {
                while (!cancellationToken.IsCancellationRequested && await StepAsync(connection, id, cancellationToken))
                {
                }
            }
            finally
            {
                await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock(@class, hashtext(@id::text))", connection);
                release.Parameters.AddWithValue("class", LockClass);
                release.Parameters.AddWithValue("id", id);
                await release.ExecuteScalarAsync(CancellationToken.None);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "Provider batch {BatchId}: a step failed; it is tried again from its stored stage", id);
            try
            {
                await batches.DeferAsync(id, $"{e.GetType().Name}: {e.Message}", time.GetUtcNow().AddSeconds(5), CancellationToken.None);
            }
            catch (Exception deferFailed)
            {
                logger.LogWarning(deferFailed, "Provider batch {BatchId}: could not store the failure", id);
            }
        }
    }

    /// <summary>One stage of a batch; true when the next one can follow at once.</summary>
    private async Task<bool> StepAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken)
    {
        if (await LoadAsync(connection, id, cancellationToken) is not { } row || row.State == ProviderBatchState.Done)
        {
            return false;
        }
        if (row.NextPollAt > time.GetUtcNow() && !(row.CancelRequestedAt is not null && row.CancelSentAt is null))
        {
            return false;
        }
        var target = await targets.TargetAsync(row.ProviderId, row.Model, cancellationToken);
        if (target is null)
        {
            await batches.DeferAsync(id, "the provider is disabled or no longer serves the model; waiting", time.GetUtcNow().AddSeconds(30), cancellationToken);
            return false;
        }
        // Every stage's span joins the trace the packing started, so a batch's life reads as one trace.
        ActivityContext.TryParse(row.TraceParent, null, out var parent);
        try
        {
            return row.State switch
            {
                ProviderBatchState.Packing => await UploadAsync(row, target, parent, cancellationToken),
                ProviderBatchState.Uploaded => await CreateAsync(row, target, parent, cancellationToken),
                ProviderBatchState.Submitted => await PollAsync(row, target, parent, cancellationToken),
                ProviderBatchState.Ended => await WriteResultsAsync(row, target, parent, cancellationToken),
                _ => false,
            };
        }
        catch (ProviderBatchException e) when (e.Retryable || row.State is ProviderBatchState.Submitted or ProviderBatchState.Ended)
        {
            // Waiting may help (a 5xx, a 429, no answer); a refused poll or download is kept and tried again too, since the batch exists.
            var wait = TimeSpan.FromSeconds(Math.Min(options.Value.MaxPollSeconds, 2 * Math.Pow(2, Math.Min(row.Polls, 10))));
            logger.LogWarning("Provider batch {BatchId} ({State}): {Message}; trying again in {Wait:0} s", id, row.State, e.Message, wait.TotalSeconds);
            await batches.DeferAsync(id, e.Message, time.GetUtcNow() + wait, cancellationToken);
            return false;
        }
        catch (ProviderBatchException e)
        {
            // The provider refuses the file or the batch (a 4xx): its records fail with that answer, not retried in a loop.
            logger.LogError("Provider batch {BatchId}: {Target} refused it: {Message}; its records fail", id, target.Describe, e.Message);
            await FailRecordsAsync(row, target, e, cancellationToken);
            await batches.EndedUnsentAsync(id, row.State, $"refused by the provider: {e.Message}", cancellationToken);
            return true;
        }
    }

    /// <summary>Packing: render the records, trim to the size limit (giving back the rest first), upload, store the file id.</summary>
    private async Task<bool> UploadAsync(BatchRow row, CallTarget target, ActivityContext parent, CancellationToken cancellationToken)
    {
        if (row.CancelRequestedAt is not null)
        {
            return await batches.EndedUnsentAsync(row.Id, row.State, $"stopped before the upload: {row.CancelReason}", cancellationToken);
        }
        if (jobs.Get(row.JobId) is not { } job)
        {
            return false; // not running here yet (or any more): the cancel request or the next tick decides
        }
        var records = await ItemsAsync(row, cancellationToken);
        if (records.Count == 0)
        {
            return await batches.EndedUnsentAsync(row.Id, row.State, "no records left to send", cancellationToken);
        }
        using var activity = WorkerTelemetry.Source.StartActivity("provider batch upload", ActivityKind.Client, parent);
        Tag(activity, row.Id, row.JobId, null);
        var lines = records.Select(r => BatchFile.Line(r.Id, row.Endpoint, job.Requests.Build(r.Payload, row.Model))).ToList();
        var fit = BatchFile.Fit(lines, options.Value.MaxLines, options.Value.MaxBytes);
        if (fit < lines.Count)
        {
            // Given back before the upload, so a crash here leaves records either in this file or in the queue, never lost.
            var released = await items.ReleaseProviderBatchAsync(row.Id, row.LeaseToken, records[fit - 1].Id, cancellationToken);
            logger.LogInformation("Provider batch {BatchId}: {Released} record(s) past {MaxBytes} bytes go to the next batch", row.Id, released, options.Value.MaxBytes);
        }
        var content = BatchFile.Content(lines.Take(fit));
        activity?.SetTag("aspirebatch.provider_batch.lines", fit);
        activity?.SetTag("aspirebatch.provider_batch.bytes", content.Length);
        var fileId = await client.UploadAsync(target, content, $"aspirebatch-{row.Id:N}.jsonl", cancellationToken);
        activity?.SetTag("aspirebatch.provider_batch.input_file_id", fileId);
        await batches.UploadedAsync(row.Id, fileId, fit, content.Length, cancellationToken);
        logger.LogInformation("Provider batch {BatchId}: uploaded {Lines} line(s), {Bytes} bytes as {FileId}", row.Id, fit, content.Length, fileId);
        await HoldAsync("uploaded", row.Id, cancellationToken);
        return true;
    }

    /// <summary>
    /// Uploaded: a crash between the provider's create and our store left a batch we did not record, so ours is looked
    /// for by its metadata first; only when the provider has none is it created (once), and its id stored.
    /// </summary>
    private async Task<bool> CreateAsync(BatchRow row, CallTarget target, ActivityContext parent, CancellationToken cancellationToken)
    {
        using var activity = WorkerTelemetry.Source.StartActivity("provider batch create", ActivityKind.Client, parent);
        Tag(activity, row.Id, row.JobId, null);
        var remote = await client.FindAsync(target, MetadataKey, row.Id.ToString(), row.CreatedAt.AddMinutes(-5).ToUnixTimeSeconds(), cancellationToken);
        if (remote is not null)
        {
            logger.LogWarning("Provider batch {BatchId}: found {RemoteId} created before a restart; not creating another", row.Id, remote.Id);
            activity?.SetTag("aspirebatch.provider_batch.found_existing", true);
        }
        else
        {
            if (row.CancelRequestedAt is not null)
            {
                return await batches.EndedUnsentAsync(row.Id, row.State, $"stopped before the batch was created: {row.CancelReason}", cancellationToken);
            }
            remote = await client.CreateAsync(target, row.InputFileId!, row.Endpoint.Path(),
                new Dictionary<string, string> { [MetadataKey] = row.Id.ToString(), ["aspirebatch_job_id"] = row.JobId.ToString() }, cancellationToken);
            logger.LogInformation("Provider batch {BatchId}: created {RemoteId} at {Target}", row.Id, remote.Id, target.Describe);
            await HoldAsync("created (not stored yet)", row.Id, cancellationToken);
        }
        activity?.SetTag("aspirebatch.provider_batch.remote_id", remote.Id);
        await batches.SubmittedAsync(row.Id, remote.Id, remote.Status, time.GetUtcNow().AddMilliseconds(options.Value.FirstPollMilliseconds), cancellationToken);
        await HoldAsync("submitted", row.Id, cancellationToken);
        return true;
    }

    /// <summary>Submitted: send the cancel when asked (once), else poll when due; an ended batch stores its files.</summary>
    private async Task<bool> PollAsync(BatchRow row, CallTarget target, ActivityContext parent, CancellationToken cancellationToken)
    {
        var cancel = row.CancelRequestedAt is not null && row.CancelSentAt is null;
        using var activity = WorkerTelemetry.Source.StartActivity(cancel ? "provider batch cancel" : "provider batch poll", ActivityKind.Client, parent);
        Tag(activity, row.Id, row.JobId, row.RemoteBatchId);
        RemoteBatch remote;
        if (cancel)
        {
            remote = await client.CancelAsync(target, row.RemoteBatchId!, cancellationToken);
            await batches.CancelSentAsync(row.Id, cancellationToken);
            logger.LogInformation("Provider batch {BatchId}: cancel sent to {RemoteId} ({Reason})", row.Id, row.RemoteBatchId, row.CancelReason);
        }
        else
        {
            remote = await client.GetAsync(target, row.RemoteBatchId!, cancellationToken);
        }
        activity?.SetTag("aspirebatch.provider_batch.status", remote.Status);
        if (remote.Ended)
        {
            await batches.EndedAsync(row.Id, remote.Status, remote.Completed, remote.Failed, remote.OutputFileId, remote.ErrorFileId, remote.Errors, cancellationToken);
            logger.LogInformation("Provider batch {BatchId}: {RemoteId} {Status} ({Completed} completed, {Failed} failed)",
                row.Id, remote.Id, remote.Status, remote.Completed, remote.Failed);
            return true;
        }
        // Backoff: the first wait, doubling with each poll, capped; a batch being cancelled is looked at again soon.
        var wait = cancel || row.CancelSentAt is not null
            ? TimeSpan.FromMilliseconds(options.Value.FirstPollMilliseconds)
            : TimeSpan.FromMilliseconds(Math.Min(options.Value.MaxPollSeconds * 1000.0, options.Value.FirstPollMilliseconds * Math.Pow(2, Math.Min(row.Polls, 20))));
        await batches.PolledAsync(row.Id, remote.Status, remote.Completed, remote.Failed, time.GetUtcNow() + wait, cancellationToken);
        return false;
    }

    /// <summary>
    /// Ended: reads the output and error files and writes each line's result through the fenced write, in chunks. Only
    /// records still holding the batch's token are written: after a crash mid-download the lines already written are
    /// skipped (and would be refused anyway). Then the records with no result go back to the queue, and the batch is done.
    /// </summary>
    private async Task<bool> WriteResultsAsync(BatchRow row, CallTarget target, ActivityContext parent, CancellationToken cancellationToken)
    {
        var open = (await ItemsAsync(row, cancellationToken)).ToDictionary(r => r.Id);
        using var activity = WorkerTelemetry.Source.StartActivity("provider batch download", ActivityKind.Client, parent);
        Tag(activity, row.Id, row.JobId, row.RemoteBatchId);
        var written = 0;
        var refused = 0;
        var chunk = new List<ItemOutcome>(options.Value.WriteBatchSize);
        var first = true;
        foreach (var fileId in new[] { row.OutputFileId, row.ErrorFileId }.OfType<string>())
        {
            if (open.Count == 0)
            {
                break;
            }
            await foreach (var line in client.LinesAsync(target, fileId, cancellationToken))
            {
                if (BatchOutput.Parse(line, row.Endpoint) is not { } result || !open.Remove(result.ItemId, out var record)
                    || Outcome(row, target, record, result) is not { } outcome)
                {
                    continue;
                }
                chunk.Add(outcome);
                if (chunk.Count >= options.Value.WriteBatchSize)
                {
                    (written, refused) = Add((written, refused), await FlushAsync(row, chunk, cancellationToken), chunk.Count);
                    if (first)
                    {
                        first = false;
                        await HoldAsync("first results written", row.Id, cancellationToken);
                    }
                }
            }
        }
        (written, refused) = Add((written, refused), await FlushAsync(row, chunk, cancellationToken), chunk.Count);
        if (row.RemoteStatus == "failed" && open.Count > 0)
        {
            // The provider refused the file while validating it (bad lines, a model it does not serve): packing the same
            // records again would fail again, so they fail with its errors instead.
            await FailRecordsAsync(row, target, new ProviderBatchException($"the provider failed the batch: {row.Error ?? "no reason given"}", null, false), cancellationToken);
        }
        var released = await items.ReleaseProviderBatchAsync(row.Id, row.LeaseToken, null, cancellationToken);
        await batches.DoneAsync(row.Id, released, cancellationToken);
        activity?.SetTag("aspirebatch.provider_batch.results_written", written);
        activity?.SetTag("aspirebatch.provider_batch.released", released);
        logger.LogInformation("Provider batch {BatchId}: {Written} result(s) written, {Refused} refused (already written), {Released} record(s) back to the queue",
            row.Id, written, refused, released);
        await SettleAsync(row.JobId, cancellationToken);
        return false;
    }

    private static (int Written, int Refused) Add((int Written, int Refused) sum, int accepted, int count) => (sum.Written + accepted, sum.Refused + count - accepted);

    private async Task<int> FlushAsync(BatchRow row, List<ItemOutcome> chunk, CancellationToken cancellationToken)
    {
        if (chunk.Count == 0)
        {
            return 0;
        }
        var accepted = await items.WriteAsync(chunk, cancellationToken);
        chunk.Clear();
        await SettleAsync(row.JobId, cancellationToken);
        return accepted.Count;
    }

    private async Task SettleAsync(Guid jobId, CancellationToken cancellationToken)
    {
        await jobLifecycle.SettleAsync([jobId], cancellationToken);
        await live.JobChangedAsync(jobId);
    }

    /// <summary>
    /// A line's result as the ledger takes it: one attempt at the batch's price, tagged with the batch. An answer succeeds
    /// the record; an error the provider may not repeat (5xx, 429) gives it back to the queue (for the next batch, or real
    /// time), until the record has had MaxAttempts calls; any other error fails it. A line that never ran has no result
    /// here: the record goes back to the queue with the rest.
    /// </summary>
    private ItemOutcome? Outcome(BatchRow row, CallTarget target, BatchItem record, BatchLineResult line)
    {
        if (line.NeverRan || line.Answer is not { } answer)
        {
            return null;
        }
        var claimed = new ClaimedItem(record.Id, row.JobId, record.CustomId, "", row.LeaseToken, record.EstimatedInputTokens);
        // The record waited for the batch: its latency is the batch's turnaround, not a call's.
        var latency = (int)Math.Min(int.MaxValue, ((row.EndedAt ?? time.GetUtcNow()) - (row.SubmittedAt ?? row.CreatedAt)).TotalMilliseconds);
        var attempt = Charge(new AttemptRecord(1, target.ProviderId, target.ProviderName, row.Model, answer.StatusCode, answer.ErrorCode, Cut(answer.ErrorMessage),
            latency, 0, false, row.SubmittedAt ?? row.CreatedAt, null, null, null, ProviderBatchId: row.Id), answer, record.EstimatedInputTokens, row);
        if (answer.Succeeded)
        {
            return new ItemOutcome(claimed, ItemState.Succeeded, answer.Text, answer.Body, answer.FinishReason, attempt.InputTokens, attempt.OutputTokens,
                attempt.CostUsd, latency, target.ProviderId, row.Model, answer.ResponseModel, answer.StatusCode, Attempts: [attempt],
                UsageSource: attempt.UsageSource, CachedInputTokens: attempt.CachedInputTokens, ReasoningTokens: attempt.ReasoningTokens,
                ResponseId: answer.ResponseId, ResultAttemptInClaim: 1,
                Embedding: answer.Vectors is { } vectors ? Embeddings.Pack(vectors) : null, EmbeddingDimensions: answer.Vectors?[0].Length);
        }
        if (answer.Retryable && record.Attempts + 1 < workerOptions.Value.MaxAttempts)
        {
            return new ItemOutcome(claimed, ItemState.Pending, Attempts: [attempt]);
        }
        return new ItemOutcome(claimed, ItemState.Failed, ResponseBody: answer.Body, LatencyMs: latency, ProviderId: target.ProviderId, ModelName: row.Model,
            StatusCode: answer.StatusCode, ErrorCode: answer.ErrorCode, ErrorMessage: Cut(answer.ErrorMessage), Attempts: [attempt],
            InputTokens: attempt.InputTokens, OutputTokens: attempt.OutputTokens, UsageSource: attempt.UsageSource, ResponseId: answer.ResponseId,
            ResultAttemptInClaim: 1);
    }

    /// <summary>Priced at the batch's price: from reported usage, else (an answer without usage) from the tokenizer, marked estimated.</summary>
    private static AttemptRecord Charge(AttemptRecord attempt, CallResult result, int estimatedInputTokens, BatchRow row)
    {
        if (result.Usage is { } usage)
        {
            return attempt with
            {
                InputTokens = usage.InputTokens, OutputTokens = usage.OutputTokens, UsageSource = UsageSources.Reported,
                CachedInputTokens = usage.CachedInputTokens, ReasoningTokens = usage.ReasoningTokens,
                CostUsd = Pricing.Cost(usage.InputTokens, usage.OutputTokens, row.InputPrice, row.OutputPrice),
            };
        }
        if (result.StatusCode is >= 200 and < 300 && (result.Succeeded || result.ErrorCode is "refusal" or "content_filter"))
        {
            var output = TokenCounter.Count(result.Text);
            return attempt with
            {
                InputTokens = estimatedInputTokens, OutputTokens = output, UsageSource = UsageSources.Estimated,
                CostUsd = Pricing.Cost(estimatedInputTokens, output, row.InputPrice, row.OutputPrice),
            };
        }
        return attempt;
    }

    /// <summary>The provider refused the batch itself: each of its records fails with that answer (no call was charged).</summary>
    private async Task FailRecordsAsync(BatchRow row, CallTarget target, ProviderBatchException e, CancellationToken cancellationToken)
    {
        var outcomes = (await ItemsAsync(row, cancellationToken)).Select(r => new ItemOutcome(
            new ClaimedItem(r.Id, row.JobId, r.CustomId, "", row.LeaseToken), ItemState.Failed, ProviderId: target.ProviderId, ModelName: row.Model,
            StatusCode: e.StatusCode, ErrorCode: "provider_batch_refused", ErrorMessage: Cut(e.Message))).ToList();
        foreach (var chunk in outcomes.Chunk(options.Value.WriteBatchSize))
        {
            await items.WriteAsync(chunk, cancellationToken);
        }
        await SettleAsync(row.JobId, cancellationToken);
    }

    /// <summary>The records the batch still holds (its lease token, running), in id order: what the file has or what is left to write.</summary>
    private async Task<List<BatchItem>> ItemsAsync(BatchRow row, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT id, custom_id, payload::text, attempts, estimated_input_tokens FROM items
            WHERE provider_batch_id = @id AND lease_token = @token AND state = @running ORDER BY id
            """);
        command.Parameters.AddWithValue("id", row.Id);
        command.Parameters.AddWithValue("token", row.LeaseToken);
        command.Parameters.AddWithValue("running", (int)ItemState.Running);
        var list = new List<BatchItem>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new BatchItem(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4)));
        }
        return list;
    }

    private static async Task<BatchRow?> LoadAsync(NpgsqlConnection connection, Guid id, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT id, job_id, provider_id, model, endpoint, state, lease_token, remote_input_file_id, remote_batch_id, remote_output_file_id,
                   remote_error_file_id, input_price_per_m_tok, output_price_per_m_tok, cancel_requested_at, cancel_sent_at, cancel_reason, polls,
                   next_poll_at, trace_parent, created_at, submitted_at, ended_at, remote_status, error
            FROM provider_batches WHERE id = @id
            """, connection);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        string? Text(int i) => reader.IsDBNull(i) ? null : reader.GetString(i);
        DateTimeOffset? At(int i) => reader.IsDBNull(i) ? null : reader.GetFieldValue<DateTimeOffset>(i);
        return new BatchRow(reader.GetGuid(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetString(3), (JobEndpoint)reader.GetInt32(4),
            (ProviderBatchState)reader.GetInt32(5), reader.GetGuid(6), Text(7), Text(8), Text(9), Text(10), reader.GetDecimal(11), reader.GetDecimal(12),
            At(13), At(14), Text(15), reader.GetInt32(16), At(17), Text(18), reader.GetFieldValue<DateTimeOffset>(19), At(20), At(21), Text(22), Text(23));
    }

    private async Task HoldAsync(string stage, Guid id, CancellationToken cancellationToken)
    {
        if (options.Value.StageHoldMilliseconds > 0)
        {
            logger.LogInformation("Provider batch {BatchId}: holding {Hold} ms after stage {Stage} (fault-test setting)", id, options.Value.StageHoldMilliseconds, stage);
            await Task.Delay(options.Value.StageHoldMilliseconds, cancellationToken);
        }
    }

    private static void Tag(Activity? activity, Guid batchId, Guid jobId, string? remoteId)
    {
        activity?.SetTag("aspirebatch.provider_batch.id", batchId);
        activity?.SetTag("aspirebatch.job.id", jobId);
        if (remoteId is not null)
        {
            activity?.SetTag("aspirebatch.provider_batch.remote_id", remoteId);
        }
    }

    private static string? Cut(string? text) => text is { Length: > 1000 } ? text[..1000] : text;
}
