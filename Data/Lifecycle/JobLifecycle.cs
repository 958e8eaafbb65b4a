using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using AspireBatch.Data.Entities;
using Npgsql;

namespace AspireBatch.Data.Lifecycle;

public enum TransitionOutcome { Done, NotFound, Conflict }

/// <summary>What a transition did: whether it moved the job, the job's state when it could not, and the records it moved.</summary>
public sealed record TransitionResult(TransitionOutcome Outcome, JobState? State = null, int Items = 0, int Requeued = 0);

public enum PurgeOutcome { Done, NotFound, NotFinished, Rehearsal, AlreadyPurged }

/// <summary>
/// What a purge did: the records deleted, their row data in bytes and the attempts kept; or why it did nothing (the
/// job's state, and for an unsettled job the records still pending or running).
/// </summary>
public sealed record PurgeResult(PurgeOutcome Outcome, JobState? State = null, int Records = 0, long Bytes = 0, int AttemptsKept = 0, DateTimeOffset? PurgedAt = null);

/// <summary>Where a job's calls go: a route, or a provider and model; <paramref name="RequestedName"/> as the operator named it.</summary>
public sealed record JobTarget(Guid? RouteId, Guid? ProviderId, string ModelName, string RequestedName, string Describe);

/// <summary>A job as an import opens it, inside the import's transaction.</summary>
public sealed record NewJob(
    Guid Id, string? Name, bool StartPaused, JobInputFormat Format, string? RequestedModel, string? SystemTemplate, string? UserTemplate,
    double? Temperature, int? MaxTokens, string? ResponseFormat, string? Metadata, decimal? BudgetUsd, bool IsBatch, string? InputFileId,
    string? IdempotencyKey, string? TraceParent, DateTimeOffset CreatedAt, bool? Dedup = null,
    JobEndpoint Endpoint = JobEndpoint.ChatCompletions, int? Dimensions = null, int? ResponseCacheTtlSeconds = null,
    string Team = ApiScopes.AdminTeam, Guid? ApiKeyId = null, JobMode Mode = JobMode.Realtime, DateTimeOffset? Deadline = null,
    int? OutputExpiresAfterSeconds = null);

/// <summary>A rehearsal's job on one target, copied from the source job's settings and sampled records.</summary>
public sealed record RehearsalJob(
    Guid Id, Guid RehearsalId, Guid SourceJobId, string Name, JobTarget Target, decimal? BudgetUsd, decimal InputPricePerMTok, decimal OutputPricePerMTok,
    string? TraceParent, DateTimeOffset CreatedAt);

/// <summary>
/// Every change of a job's state, as named operations, each one statement (or one transaction) that moves the job
/// and writes the move to <c>job_events</c>: what, from and to which state, who, why. The Api and the Worker call
/// it; nothing else changes a job's state (record transitions are in <see cref="ItemLifecycle"/>). States go in as
/// parameters, never as numbers in the SQL. A transition that finds the job already moved (a second worker, a
/// double click) changes nothing and records nothing.
/// </summary>
public sealed class JobLifecycle(NpgsqlDataSource dataSource)
{
    private static readonly JobState[] Active = [JobState.Queued, JobState.Running];
    private static readonly JobState[] Unfinished = [JobState.Queued, JobState.Running, JobState.Paused];
    private static readonly JobState[] Finished = [JobState.Completed, JobState.Failed];
    /// <summary>States a job makes no more calls in: what retention may purge.</summary>
    private static readonly JobState[] Settled = [JobState.Completed, JobState.Failed, JobState.Cancelled];

    /// <summary>Inserts an imported job, queued or paused, and its first event, on the import's connection and transaction.</summary>
    public static async Task CreateAsync(NpgsqlConnection connection, NewJob job, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            WITH job AS (
                INSERT INTO jobs (id, name, state, input_format, requested_model, system_template, user_template, temperature, max_tokens,
                    response_format, metadata, budget_usd, is_batch, input_file_id, idempotency_key, trace_parent, created_at,
                    total_items, succeeded_items, failed_items, cancelled_items, input_tokens, output_tokens, cost_usd,
                    estimated_input_tokens, estimated_cost_bound_usd, template_hash, parameters_hash, dedup, deduplicated_items,
                    endpoint, dimensions, response_cache_ttl_seconds, cached_items, team, api_key_id, mode, deadline, output_expires_after_seconds)
                VALUES (@id, @name, @state, @format, @requested, @system, @user, @temperature, @max_tokens,
                    @response_format::jsonb, @metadata::jsonb, @budget, @is_batch, @file, @key, @trace, @now, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                    @template_hash, @parameters_hash, @dedup, 0, @endpoint, @dimensions, @cache_ttl, 0, @team, @api_key, @mode, @deadline, @output_expires)
                RETURNING id)
            INSERT INTO job_events (job_id, kind, from_state, to_state, actor, reason, at)
            SELECT id, @kind, NULL, @state, @actor, @reason, @now FROM job
            """, connection);
        var state = job.StartPaused ? JobState.Paused : JobState.Queued;
        command.Parameters.AddWithValue("id", job.Id);
        command.Parameters.AddWithValue("name", (object?)job.Name ?? DBNull.Value);
        command.Parameters.AddWithValue("state", (int)state);
        command.Parameters.AddWithValue("format", (int)job.Format);
        command.Parameters.AddWithValue("requested", job.RequestedModel ?? "");
        command.Parameters.AddWithValue("system", (object?)job.SystemTemplate ?? DBNull.Value);
        command.Parameters.AddWithValue("user", (object?)job.UserTemplate ?? DBNull.Value);
        command.Parameters.AddWithValue("temperature", (object?)job.Temperature ?? DBNull.Value);
        command.Parameters.AddWithValue("max_tokens", (object?)job.MaxTokens ?? DBNull.Value);
        command.Parameters.AddWithValue("response_format", (object?)job.ResponseFormat ?? DBNull.Value);
        command.Parameters.AddWithValue("metadata", (object?)job.Metadata ?? DBNull.Value);
        command.Parameters.AddWithValue("budget", (object?)job.BudgetUsd ?? DBNull.Value);
        command.Parameters.AddWithValue("is_batch", job.IsBatch);
        command.Parameters.AddWithValue("file", (object?)job.InputFileId ?? DBNull.Value);
        command.Parameters.AddWithValue("key", (object?)job.IdempotencyKey ?? DBNull.Value);
        command.Parameters.AddWithValue("trace", (object?)job.TraceParent ?? DBNull.Value);
        command.Parameters.AddWithValue("now", job.CreatedAt);
        command.Parameters.AddWithValue("dedup", NpgsqlTypes.NpgsqlDbType.Boolean, (object?)job.Dedup ?? DBNull.Value);
        command.Parameters.AddWithValue("endpoint", (int)job.Endpoint);
        command.Parameters.AddWithValue("dimensions", NpgsqlTypes.NpgsqlDbType.Integer, (object?)job.Dimensions ?? DBNull.Value);
        command.Parameters.AddWithValue("cache_ttl", NpgsqlTypes.NpgsqlDbType.Integer, (object?)job.ResponseCacheTtlSeconds ?? DBNull.Value);
        command.Parameters.AddWithValue("team", job.Team);
        command.Parameters.AddWithValue("api_key", NpgsqlTypes.NpgsqlDbType.Uuid, (object?)job.ApiKeyId ?? DBNull.Value);
        command.Parameters.AddWithValue("mode", (int)job.Mode);
        command.Parameters.AddWithValue("deadline", NpgsqlTypes.NpgsqlDbType.TimestampTz, (object?)job.Deadline ?? DBNull.Value);
        command.Parameters.AddWithValue("output_expires", NpgsqlTypes.NpgsqlDbType.Integer, (object?)job.OutputExpiresAfterSeconds ?? DBNull.Value);
        // OpenAI Batch lines carry their own messages and parameters: a job-level hash would say nothing about them.
        var perLine = job.Format == JobInputFormat.OpenAiBatch;
        command.Parameters.AddWithValue("template_hash", NpgsqlTypes.NpgsqlDbType.Varchar,
            perLine ? DBNull.Value : (object)LineageHash.Templates(job.SystemTemplate, job.UserTemplate));
        command.Parameters.AddWithValue("parameters_hash", NpgsqlTypes.NpgsqlDbType.Varchar,
            perLine ? DBNull.Value : (object)LineageHash.Parameters(job.Endpoint, job.Temperature, job.MaxTokens, job.ResponseFormat, job.Dimensions));
        command.Parameters.AddWithValue("kind", (int)JobEventKind.Created);
        command.Parameters.AddWithValue("actor", (int)JobActor.Operator);
        command.Parameters.AddWithValue("reason", job.StartPaused ? "imported, paused until started" : "imported");
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Creation-time bookkeeping of duplicates, on the import's transaction after its COPY: every record with a dedup
    /// key that an earlier record of the job (lowest id) shares follows that record (<c>duplicate_of</c>), and the job
    /// counts them. Followers are never claimed; <see cref="ItemLifecycle.WriteAsync"/> gives them their leader's
    /// result. Returns the number of followers, the calls saved.
    /// </summary>
    public static async Task<int> MarkDuplicatesAsync(NpgsqlConnection connection, Guid jobId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            WITH leaders AS (
                SELECT request_hash, min(id) AS leader FROM items
                WHERE job_id = @id AND request_hash IS NOT NULL
                GROUP BY request_hash HAVING count(*) > 1),
            marked AS (
                UPDATE items i SET duplicate_of = l.leader
                FROM leaders l
                WHERE i.job_id = @id AND i.request_hash = l.request_hash AND i.id <> l.leader
                RETURNING 1),
            counted AS (SELECT count(*)::int AS n FROM marked),
            job AS (UPDATE jobs SET deduplicated_items = c.n FROM counted c WHERE jobs.id = @id)
            SELECT n FROM counted
            """, connection);
        command.Parameters.AddWithValue("id", jobId);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken));
    }

    /// <summary>
    /// Import-time answers from the response cache, on the import's transaction after <see cref="MarkDuplicatesAsync"/>,
    /// for a job that opted in: every record whose key (<c>response_cache_key</c> of the job's endpoint, model as named,
    /// parameters hash and the record's request hash) has an entry younger than the job's TTL and not expired takes that
    /// answer at once. It is succeeded with usage <c>cached</c>, no cost and no attempt, and names the record that paid.
    /// A follower answered so no longer follows. Returns the records answered, and how many of them were followers.
    /// </summary>
    public static async Task<(int Answered, int Followers)> AnswerFromCacheAsync(NpgsqlConnection connection, Guid jobId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($$"""
            WITH j AS (SELECT id, endpoint, requested_model, parameters_hash, response_cache_ttl_seconds AS ttl FROM jobs
                       WHERE id = @id AND response_cache_ttl_seconds IS NOT NULL),
            found AS (
                SELECT i.id, i.duplicate_of IS NOT NULL AS follower, c.*
                FROM j JOIN items i ON i.job_id = j.id AND i.request_hash IS NOT NULL AND i.state = @pending
                JOIN response_cache c ON c.key = response_cache_key(j.endpoint, j.requested_model, j.parameters_hash, i.request_hash)
                WHERE c.expires_at > now() AND c.created_at > now() - make_interval(secs => j.ttl)),
            answered AS (
                UPDATE items i SET state = @succeeded, response_text = f.response_text, response_body = f.response_body,
                    finish_reason = f.finish_reason, response_model = f.response_model, response_id = f.response_id,
                    provider_id = f.provider_id, model_name = f.model_name, status_code = f.status_code,
                    embedding = f.embedding, embedding_dimensions = f.embedding_dimensions,
                    input_tokens = 0, output_tokens = 0, cached_input_tokens = 0, reasoning_tokens = 0, cost_usd = 0,
                    usage_source = '{{UsageSources.Cached}}', cached_from = f.source_item_id, duplicate_of = NULL,
                    started_at = now(), completed_at = now()
                FROM found f WHERE i.id = f.id
                RETURNING f.follower),
            counted AS (SELECT count(*)::int AS n, count(*) FILTER (WHERE follower)::int AS followers FROM answered),
            job AS (
                UPDATE jobs SET succeeded_items = succeeded_items + c.n, cached_items = c.n, deduplicated_items = deduplicated_items - c.followers
                FROM counted c WHERE jobs.id = @id)
            SELECT n, followers FROM counted
            """, connection);
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.AddWithValue("pending", (int)ItemState.Pending);
        command.Parameters.AddWithValue("succeeded", (int)ItemState.Succeeded);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt32(0), reader.GetInt32(1));
    }

    /// <summary>
    /// A rehearsal's job for one target: the source job's request settings (templates, temperature, max tokens, response
    /// format) on <paramref name="target"/>, with the sampled records (ids in the temporary table
    /// <paramref name="sampleTable"/>) copied as pending, queued at once, and its first event; one statement on the
    /// rehearsal's transaction. Returns the records copied.
    /// </summary>
    public static async Task<int> CreateRehearsalJobAsync(NpgsqlConnection connection, RehearsalJob job, string sampleTable, CancellationToken cancellationToken)
    {
        // One snapshot for the whole statement: the totals come from the records read, not from the rows it inserts.
        await using var command = new NpgsqlCommand($"""
            WITH picked AS (
                SELECT i.line_number, i.custom_id, i.payload, i.estimated_input_tokens FROM items i WHERE i.id IN (SELECT id FROM {sampleTable})),
            totals AS (SELECT count(*)::int AS n, coalesce(sum(estimated_input_tokens), 0)::bigint AS tokens FROM picked),
            job AS (
                INSERT INTO jobs (id, name, state, input_format, requested_model, route_id, provider_id, model_name, system_template, user_template,
                    temperature, max_tokens, response_format, budget_usd, is_batch, rehearsal_id, template_hash, parameters_hash, trace_parent, created_at,
                    total_items, succeeded_items, failed_items, cancelled_items, input_tokens, output_tokens, cost_usd,
                    estimated_input_tokens, estimated_cost_bound_usd, endpoint, dimensions, cached_items, team, api_key_id)
                SELECT @id, @name, @queued, s.input_format, @requested, @route, @provider, @model, s.system_template, s.user_template,
                    s.temperature, s.max_tokens, s.response_format, @budget, false, @rehearsal, s.template_hash, s.parameters_hash, @trace, @now,
                    t.n, 0, 0, 0, 0, 0, 0, t.tokens,
                    (t.tokens * @input_price + t.n * CASE WHEN s.endpoint = @embeddings THEN 0 ELSE coalesce(s.max_tokens, @default_output) END * @output_price) / 1000000,
                    s.endpoint, s.dimensions, 0, s.team, s.api_key_id
                FROM jobs s, totals t WHERE s.id = @source
                RETURNING id, total_items),
            copied AS (
                INSERT INTO items (job_id, line_number, custom_id, state, payload, estimated_input_tokens, attempts, created_at)
                SELECT @id, line_number, custom_id, @pending, payload, estimated_input_tokens, 0, @now FROM picked),
            event AS (
                INSERT INTO job_events (job_id, kind, from_state, to_state, actor, reason, at)
                SELECT id, @kind, NULL, @queued, @actor, @reason, @now FROM job)
            SELECT total_items FROM job
            """, connection);
        command.Parameters.AddWithValue("id", job.Id);
        command.Parameters.AddWithValue("name", job.Name);
        command.Parameters.AddWithValue("queued", (int)JobState.Queued);
        command.Parameters.AddWithValue("pending", (int)ItemState.Pending);
        command.Parameters.AddWithValue("requested", job.Target.RequestedName);
        command.Parameters.AddWithValue("route", (object?)job.Target.RouteId ?? DBNull.Value);
        command.Parameters.AddWithValue("provider", (object?)job.Target.ProviderId ?? DBNull.Value);
        command.Parameters.AddWithValue("model", job.Target.ModelName);
        command.Parameters.AddWithValue("budget", (object?)job.BudgetUsd ?? DBNull.Value);
        command.Parameters.AddWithValue("rehearsal", job.RehearsalId);
        command.Parameters.AddWithValue("trace", (object?)job.TraceParent ?? DBNull.Value);
        command.Parameters.AddWithValue("now", job.CreatedAt);
        command.Parameters.AddWithValue("source", job.SourceJobId);
        command.Parameters.AddWithValue("input_price", job.InputPricePerMTok);
        command.Parameters.AddWithValue("output_price", job.OutputPricePerMTok);
        command.Parameters.AddWithValue("default_output", Domain.Pricing.DefaultMaxOutputTokensForEstimate);
        command.Parameters.AddWithValue("embeddings", (int)JobEndpoint.Embeddings);
        command.Parameters.AddWithValue("kind", (int)JobEventKind.Created);
        command.Parameters.AddWithValue("actor", (int)JobActor.Operator);
        command.Parameters.AddWithValue("reason", $"rehearsal on {job.Target.Describe}");
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken));
    }

    /// <summary>
    /// A batch whose input file was refused still exists for the OpenAI client, as a failed job without records; it is
    /// born failed, and this is its one event. Added to the caller's unit of work, saved with the job.
    /// </summary>
    public static JobEvent FailedAtCreation(Job job, string reason)
    {
        job.State = JobState.Failed;
        job.CompletedAt = job.CreatedAt;
        return new JobEvent { JobId = job.Id, Kind = JobEventKind.Failed, FromState = null, ToState = JobState.Failed, Actor = JobActor.Operator, Reason = reason, At = job.CreatedAt };
    }

    /// <summary>Queued jobs start: the first worker to look moves them to running.</summary>
    public Task<IReadOnlyList<Guid>> StartQueuedAsync(CancellationToken cancellationToken) =>
        MoveAsync([], [JobState.Queued], JobState.Running, JobEventKind.Started, JobActor.Worker, null, cancellationToken,
            set: "started_at = coalesce(j.started_at, now())");

    public Task<TransitionResult> PauseAsync(Guid id, string? reason, CancellationToken cancellationToken) =>
        OneAsync(id, MoveAsync([id], Active, JobState.Paused, JobEventKind.Paused, JobActor.Operator, reason ?? "paused by an operator", cancellationToken));

    public Task<TransitionResult> ResumeAsync(Guid id, CancellationToken cancellationToken) =>
        OneAsync(id, MoveAsync([id], [JobState.Paused], JobState.Running, JobEventKind.Resumed, JobActor.Operator, null, cancellationToken,
            set: "started_at = coalesce(j.started_at, now())"));

    /// <summary>
    /// Cancels at once: the job stops getting calls within a second. Its pending records are then cancelled by the
    /// workers in batches (<see cref="ItemLifecycle.CancelPendingAsync"/>), so a million-record job cancels as fast
    /// as a small one; calls in flight finish and keep their paid result.
    /// </summary>
    public Task<TransitionResult> CancelAsync(Guid id, CancellationToken cancellationToken) =>
        OneAsync(id, MoveAsync([id], Unfinished, JobState.Cancelled, JobEventKind.Cancelled, JobActor.Operator, "cancelled by an operator", cancellationToken,
            set: "cancelled_at = now()"));

    /// <summary>A provider refused the key: pause the job with the reason instead of failing every record.</summary>
    public Task PauseOnRefusedKeyAsync(Guid id, string reason, CancellationToken cancellationToken) =>
        MoveAsync([id], Active, JobState.Paused, JobEventKind.Paused, JobActor.Worker, reason, cancellationToken);

    /// <summary>Completes running jobs with every record settled, then pauses those over budget; all jobs when none are named. Returns the jobs that moved.</summary>
    public async Task<IReadOnlyList<Guid>> SettleAsync(Guid[] jobIds, CancellationToken cancellationToken)
    {
        var done = await MoveAsync(jobIds, [JobState.Running], JobState.Completed, JobEventKind.Completed, JobActor.Worker, null, cancellationToken,
            set: "completed_at = now()", where: "succeeded_items + failed_items + cancelled_items >= total_items");
        var over = await MoveAsync(jobIds, [JobState.Running], JobState.Paused, JobEventKind.Paused, JobActor.Budget, null, cancellationToken,
            reason: "'budget reached: ' || round(j.cost_usd, 6) || ' of ' || round(j.budget_usd, 6) || ' USD'",
            where: "budget_usd IS NOT NULL AND cost_usd >= budget_usd");
        // A key's monthly budget counts the cost of every job it created this calendar month (UTC).
        var keyOver = await MoveAsync(jobIds, [JobState.Running], JobState.Paused, JobEventKind.Paused, JobActor.Budget, null, cancellationToken,
            reason: "'the monthly budget of its API key is spent'",
            where: """
                api_key_id IS NOT NULL AND EXISTS (
                    SELECT 1 FROM api_keys k WHERE k.id = jobs.api_key_id AND k.monthly_budget_usd IS NOT NULL
                      AND k.monthly_budget_usd <= (SELECT coalesce(sum(m.cost_usd), 0) FROM jobs m
                                                   WHERE m.api_key_id = k.id AND m.created_at >= date_trunc('month', now(), 'UTC')))
                """);
        return [.. done, .. over, .. keyOver];
    }

    /// <summary>
    /// Puts a job's failed records (all, or those with one error code) back in the queue and reopens the job if it
    /// had finished, in one transaction, so the counters stay equal to what the records say.
    /// </summary>
    public Task<TransitionResult> RetryFailedAsync(Guid id, string? errorCode, CancellationToken cancellationToken) =>
        RequeueAsync(id, includeFailed: true, errorCode, target: null, cancellationToken);

    /// <summary>
    /// Sends the job's records that are not answered yet to another target: the job's target changes for every pending
    /// record (calls in flight finish where they are), its failed records go back to the queue unless asked not to, and
    /// a finished job reopens. Answered records are never sent again; each keeps the provider and model that answered it.
    /// <see cref="TransitionResult.Items"/> is the number of records left for the new target.
    /// </summary>
    public Task<TransitionResult> MoveLeftoversAsync(Guid id, JobTarget target, bool includeFailed, string? errorCode, CancellationToken cancellationToken) =>
        RequeueAsync(id, includeFailed, errorCode, target, cancellationToken);

    private async Task<TransitionResult> RequeueAsync(Guid id, bool includeFailed, string? errorCode, JobTarget? target, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var read = new NpgsqlCommand("SELECT state FROM jobs WHERE id = @id FOR UPDATE", connection, transaction))
        {
            read.Parameters.AddWithValue("id", id);
            switch (await read.ExecuteScalarAsync(cancellationToken))
            {
                case null:
                    return new(TransitionOutcome.NotFound);
                case int state when (JobState)state == JobState.Cancelled:
                    return new(TransitionOutcome.Conflict, JobState.Cancelled);
            }
        }
        // A retry that finds nothing to requeue moves nothing; a move always changes the target, and is recorded.
        await using var command = new NpgsqlCommand("""
            WITH requeued AS (
                UPDATE items SET state = @pending, error_code = NULL, error_message = NULL, status_code = NULL, lease_token = NULL, completed_at = NULL
                WHERE job_id = @id AND state = @failed_item AND @include_failed AND (@code::text IS NULL OR error_code = @code)
                RETURNING 1),
            counted AS (SELECT count(*)::int AS n FROM requeued),
            old AS (SELECT state FROM jobs WHERE id = @id),
            moved AS (
                UPDATE jobs j SET failed_items = j.failed_items - c.n,
                    state = CASE WHEN j.state = ANY(@finished) THEN @running ELSE j.state END,
                    completed_at = CASE WHEN j.state = ANY(@finished) THEN NULL ELSE j.completed_at END,
                    state_reason = CASE WHEN j.state = ANY(@finished) OR @retarget THEN CASE WHEN @retarget THEN @reason ELSE 'retrying ' || c.n || ' failed item(s)' || coalesce(' with error ' || @code, '') END ELSE j.state_reason END,
                    route_id = CASE WHEN @retarget THEN @route ELSE j.route_id END,
                    provider_id = CASE WHEN @retarget THEN @provider ELSE j.provider_id END,
                    model_name = CASE WHEN @retarget THEN @model ELSE j.model_name END,
                    requested_model = CASE WHEN @retarget THEN @requested ELSE j.requested_model END
                FROM counted c
                WHERE j.id = @id AND (c.n > 0 OR @retarget)
                RETURNING j.state, c.n, j.total_items - j.succeeded_items - j.failed_items - j.cancelled_items AS unanswered,
                    CASE WHEN @retarget THEN @reason ELSE 'retrying ' || c.n || ' failed item(s)' || coalesce(' with error ' || @code, '') END AS reason),
            logged AS (
                INSERT INTO job_events (job_id, kind, from_state, to_state, actor, reason, items, at)
                SELECT @id, @kind, old.state, moved.state, @actor, moved.reason, CASE WHEN @retarget THEN moved.unanswered ELSE moved.n END, now()
                FROM moved, old)
            SELECT (SELECT n FROM counted), coalesce((SELECT unanswered FROM moved), 0)
            """, connection, transaction);
        var code = string.IsNullOrWhiteSpace(errorCode) ? null : errorCode;
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("code", NpgsqlTypes.NpgsqlDbType.Text, (object?)code ?? DBNull.Value);
        command.Parameters.AddWithValue("include_failed", includeFailed);
        command.Parameters.AddWithValue("pending", (int)ItemState.Pending);
        command.Parameters.AddWithValue("failed_item", (int)ItemState.Failed);
        command.Parameters.AddWithValue("finished", Finished.Select(s => (int)s).ToArray());
        command.Parameters.AddWithValue("running", (int)JobState.Running);
        command.Parameters.AddWithValue("retarget", target is not null);
        command.Parameters.AddWithValue("route", NpgsqlTypes.NpgsqlDbType.Uuid, (object?)target?.RouteId ?? DBNull.Value);
        command.Parameters.AddWithValue("provider", NpgsqlTypes.NpgsqlDbType.Uuid, (object?)(target?.RouteId is null ? target?.ProviderId : null) ?? DBNull.Value);
        command.Parameters.AddWithValue("model", NpgsqlTypes.NpgsqlDbType.Text, (object?)target?.ModelName ?? DBNull.Value);
        command.Parameters.AddWithValue("requested", NpgsqlTypes.NpgsqlDbType.Text, (object?)target?.RequestedName ?? DBNull.Value);
        command.Parameters.AddWithValue("kind", (int)(target is null ? JobEventKind.RetriedFailed : JobEventKind.MovedLeftovers));
        command.Parameters.AddWithValue("actor", (int)JobActor.Operator);
        command.Parameters.AddWithValue("reason", NpgsqlTypes.NpgsqlDbType.Text, target is null
            ? ""
            : $"unanswered records moved to {target.Describe}{(includeFailed ? code is null ? ", failed ones included" : $", failed ones with error {code} included" : "")}");
        int requeued, unanswered;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            (requeued, unanswered) = (reader.GetInt32(0), reader.GetInt32(1));
        }
        await transaction.CommitAsync(cancellationToken);
        return new(TransitionOutcome.Done, Items: target is null ? requeued : unanswered, Requeued: requeued);
    }

    /// <summary>
    /// Retention: deletes a finished job's records and their answers (payloads, response texts and bodies, vectors)
    /// and keeps its cost ledger: the job row with every counter (records, tokens, cost, in doubt), its history and its
    /// attempts, which the usage and cost reports, the job's time series and the Costs page read. One transaction: the
    /// job is locked, must be completed, failed or cancelled with no record still pending or running (a cancelled job
    /// settles its last calls first), must not be a rehearsal's (its comparison reads the answers) nor already purged;
    /// then the records go, the job is marked purged with what was freed and a <see cref="JobEventKind.Purged"/> event
    /// is written. The job's state does not change. The response cache keeps its copies until they expire.
    /// </summary>
    public Task<PurgeResult> PurgeAsync(Guid id, CancellationToken cancellationToken) => PurgeAsync(id, JobActor.Operator, null, cancellationToken);

    /// <summary>
    /// <see cref="PurgeAsync(Guid, CancellationToken)"/> with the actor its event names (the operator for
    /// <c>POST /api/jobs/{id}/purge</c>, <see cref="JobActor.Retention"/> for a team's retention policy) and, when
    /// <paramref name="receipt"/> is given, the audit row it builds from what was purged, written in the purge's own
    /// transaction: a purge without its receipt cannot happen.
    /// </summary>
    public async Task<PurgeResult> PurgeAsync(Guid id, JobActor actor, Func<PurgeResult, AuditEntry>? receipt, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        JobState state;
        await using (var read = new NpgsqlCommand("""
            SELECT state, purged_at, rehearsal_id IS NOT NULL,
                   (SELECT count(*)::int FROM items WHERE job_id = @id AND state = ANY(@unsettled))
            FROM jobs WHERE id = @id FOR UPDATE
            """, connection, transaction))
        {
            read.Parameters.AddWithValue("id", id);
            read.Parameters.AddWithValue("unsettled", new[] { (int)ItemState.Pending, (int)ItemState.Running });
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return new(PurgeOutcome.NotFound);
            }
            state = (JobState)reader.GetInt32(0);
            if (!reader.IsDBNull(1))
            {
                return new(PurgeOutcome.AlreadyPurged, state, PurgedAt: reader.GetFieldValue<DateTimeOffset>(1));
            }
            if (!Array.Exists(Settled, s => s == state))
            {
                return new(PurgeOutcome.NotFinished, state);
            }
            if (reader.GetBoolean(2))
            {
                return new(PurgeOutcome.Rehearsal, state);
            }
            if (reader.GetInt32(3) is > 0 and var unsettled)
            {
                return new(PurgeOutcome.NotFinished, state, Records: unsettled);
            }
        }
        await using var command = new NpgsqlCommand("""
            WITH gone AS (
                DELETE FROM items i WHERE i.job_id = @id RETURNING pg_column_size(i.*)::bigint AS bytes),
            freed AS (SELECT count(*)::int AS n, coalesce(sum(bytes), 0)::bigint AS b FROM gone),
            kept AS (SELECT count(*)::int AS n FROM attempts WHERE job_id = @id),
            marked AS (
                UPDATE jobs j SET purged_at = now(), purged_items = f.n, purged_bytes = f.b
                FROM freed f WHERE j.id = @id
                RETURNING j.purged_at),
            logged AS (
                INSERT INTO job_events (job_id, kind, from_state, to_state, actor, reason, items, at)
                SELECT @id, @kind, @state, @state, @actor,
                    'records and answers purged: ' || f.n || ' records, ' || pg_size_pretty(f.b) || ' of row data; counters and cost ledger kept (' || k.n || ' attempts)',
                    f.n, m.purged_at
                FROM freed f, kept k, marked m)
            SELECT f.n, f.b, k.n, m.purged_at FROM freed f, kept k, marked m
            """, connection, transaction);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("kind", (int)JobEventKind.Purged);
        command.Parameters.AddWithValue("state", (int)state);
        command.Parameters.AddWithValue("actor", (int)actor);
        PurgeResult result;
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            await reader.ReadAsync(cancellationToken);
            result = new(PurgeOutcome.Done, state, reader.GetInt32(0), reader.GetInt64(1), reader.GetInt32(2), reader.GetFieldValue<DateTimeOffset>(3));
        }
        if (receipt is not null)
        {
            await AddAuditAsync(connection, transaction, receipt(result), cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return result;
    }

    private static async Task AddAuditAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, AuditEntry entry, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO audit_log (at, actor, team, action, resource_type, resource_id, before, after)
            VALUES (@at, @actor, @team, @action, @type, @resource, @before::jsonb, @after::jsonb)
            """, connection, transaction);
        command.Parameters.AddWithValue("at", entry.At);
        command.Parameters.AddWithValue("actor", entry.Actor);
        command.Parameters.AddWithValue("team", entry.Team);
        command.Parameters.AddWithValue("action", entry.Action);
        command.Parameters.AddWithValue("type", entry.ResourceType);
        command.Parameters.AddWithValue("resource", NpgsqlTypes.NpgsqlDbType.Varchar, (object?)entry.ResourceId ?? DBNull.Value);
        command.Parameters.AddWithValue("before", NpgsqlTypes.NpgsqlDbType.Text, (object?)entry.Before ?? DBNull.Value);
        command.Parameters.AddWithValue("after", NpgsqlTypes.NpgsqlDbType.Text, (object?)entry.After ?? DBNull.Value);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The one statement shape of a job transition: lock the jobs still in a from-state, move them, record the move.</summary>
    private async Task<IReadOnlyList<Guid>> MoveAsync(Guid[] ids, JobState[] from, JobState to, JobEventKind kind, JobActor actor, string? reasonText,
        CancellationToken cancellationToken, string? set = null, string? where = null, string reason = "@reason")
    {
        await using var command = dataSource.CreateCommand($"""
            WITH old AS (
                SELECT id, state FROM jobs
                WHERE (cardinality(@ids) = 0 OR id = ANY(@ids)) AND state = ANY(@from) {(where is null ? "" : "AND " + where)}
                FOR UPDATE),
            moved AS (
                UPDATE jobs j SET state = @to, state_reason = {reason}{(set is null ? "" : ", " + set)}
                FROM old WHERE j.id = old.id
                RETURNING j.id, old.state AS from_state, j.state_reason),
            logged AS (
                INSERT INTO job_events (job_id, kind, from_state, to_state, actor, reason, at)
                SELECT id, @kind, from_state, @to, @actor, state_reason, now() FROM moved)
            SELECT id FROM moved
            """);
        command.Parameters.AddWithValue("ids", ids);
        command.Parameters.AddWithValue("from", from.Select(s => (int)s).ToArray());
        command.Parameters.AddWithValue("to", (int)to);
        command.Parameters.AddWithValue("kind", (int)kind);
        command.Parameters.AddWithValue("actor", (int)actor);
        command.Parameters.AddWithValue("reason", NpgsqlTypes.NpgsqlDbType.Text, (object?)reasonText ?? DBNull.Value);
        var moved = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            moved.Add(reader.GetGuid(0));
        }
        return moved;
    }

    /// <summary>An operator's transition of one job: done, or why not (missing, or in a state it cannot leave that way).</summary>
    private async Task<TransitionResult> OneAsync(Guid id, Task<IReadOnlyList<Guid>> move)
    {
        if ((await move).Count > 0)
        {
            return new(TransitionOutcome.Done);
        }
        await using var command = dataSource.CreateCommand("SELECT state FROM jobs WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        return await command.ExecuteScalarAsync() is int state
            ? new(TransitionOutcome.Conflict, (JobState)state)
            : new(TransitionOutcome.NotFound);
    }
}
