using AspireBatch.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace AspireBatch.Data.Lifecycle;

public sealed record ClaimedItem(long Id, Guid JobId, string CustomId, string Payload, Guid LeaseToken, int EstimatedInputTokens = 0, int InternalErrors = 0);

/// <summary>One call made for an item, as the ledger keeps it.</summary>
public sealed record AttemptRecord(
    int Number, Guid? ProviderId, string ProviderName, string ModelName, int? StatusCode, string? ErrorCode, string? ErrorMessage,
    int LatencyMs, int WaitMs, bool Fallback, DateTimeOffset StartedAt, int? InputTokens, int? OutputTokens, decimal? CostUsd,
    string? UsageSource = null, int? CachedInputTokens = null, int? ReasoningTokens = null, Guid? ProviderBatchId = null)
{
    /// <summary>Whether the call went out to the provider (an open circuit or our own failure sends nothing).</summary>
    public bool Sent => ErrorCode is not (LedgerCodes.Internal or "circuit_open");
}

/// <summary>
/// What an item's processing ended with. Pending means "released": the job was paused while the item waited to
/// retry, or our own side failed (<see cref="Internal"/>), so it goes back to the queue. Its attempts are written
/// whatever the state, and the cost of every call that was charged counts, answered or not.
/// <see cref="ResultAttemptInClaim"/> is the number, within <see cref="Attempts"/>, of the attempt that gave the result;
/// the write turns it into the number across the record's life.
/// </summary>
public sealed record ItemOutcome(
    ClaimedItem Item,
    ItemState State,
    string? ResponseText = null,
    string? ResponseBody = null,
    string? FinishReason = null,
    int? InputTokens = null,
    int? OutputTokens = null,
    decimal? CostUsd = null,
    int? LatencyMs = null,
    Guid? ProviderId = null,
    string? ModelName = null,
    string? ResponseModel = null,
    int? StatusCode = null,
    string? ErrorCode = null,
    string? ErrorMessage = null,
    IReadOnlyList<AttemptRecord>? Attempts = null,
    string? UsageSource = null,
    int? CachedInputTokens = null,
    int? ReasoningTokens = null,
    bool Internal = false,
    JobTargetSent? SentTo = null,
    string? ResponseId = null,
    int? RoutePosition = null,
    int? ResultAttemptInClaim = null,
    byte[]? Embedding = null,
    int? EmbeddingDimensions = null)
{
    /// <summary>What the provider charged across these attempts: the answer, and any refusal or empty answer it billed.</summary>
    public decimal? ChargedUsd => Attempts is { } list && list.Any(a => a.CostUsd is not null) ? list.Sum(a => a.CostUsd ?? 0) : null;

    public decimal EstimatedUsageCostUsd => Attempts?.Where(a => a.UsageSource == UsageSources.Estimated).Sum(a => a.CostUsd ?? 0) ?? 0;

    private IEnumerable<AttemptRecord> Charged => Attempts?.Where(a => a.CostUsd is not null) ?? [];

    public long ChargedInputTokens => Charged.Sum(a => (long)(a.InputTokens ?? 0));

    public long ChargedOutputTokens => Charged.Sum(a => (long)(a.OutputTokens ?? 0));

    public long ChargedCachedInputTokens => Charged.Sum(a => (long)(a.CachedInputTokens ?? 0));

    public long ChargedReasoningTokens => Charged.Sum(a => (long)(a.ReasoningTokens ?? 0));
}

/// <summary>A provider batch about to be packed: where it goes, the token its records will carry, and its prices (batch and real time).</summary>
public sealed record NewProviderBatch(
    Guid Id, Guid JobId, Guid ProviderId, string Model, JobEndpoint Endpoint, Guid LeaseToken,
    decimal InputPricePerMTok, decimal OutputPricePerMTok, decimal RealtimeInputPricePerMTok, decimal RealtimeOutputPricePerMTok, string? TraceParent);

/// <summary>The job's target when the record was sent: a failure decided on a target the job has since left is not kept.</summary>
public sealed record JobTargetSent(Guid? RouteId, Guid? ProviderId, string? ModelName);

/// <summary>
/// Every change of a record's state, on the Worker's hot path: claim with SKIP LOCKED and a lease token, write
/// outcomes fenced by that token, give back the records of a lost worker, cancel the pending records of cancelled
/// jobs. (A job's failed records go back to the queue in <see cref="JobLifecycle.RetryFailedAsync"/>, with the job.)
/// States go in as parameters, never as numbers in the SQL.
/// </summary>
public sealed class ItemLifecycle(NpgsqlDataSource dataSource)
{
    // The first key of the packing lock (the second is the job id's hash), apart from the Worker's batch-driving locks.
    private const int PackingLockClass = 0x4E50; // "NP"

    public async Task<IReadOnlyList<ClaimedItem>> ClaimAsync(Guid jobId, int count, int leaseSeconds, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid();
        await using var command = dataSource.CreateCommand("""
            UPDATE items SET state = @running, lease_token = @token, lease_expires_at = now() + make_interval(secs => @lease),
                             started_at = coalesce(started_at, now())
            -- A duplicate's follower is never sent: it waits for the record that pays (and ix_items_pending leaves it out).
            WHERE id IN (SELECT id FROM items WHERE job_id = @job AND state = @pending AND duplicate_of IS NULL ORDER BY id LIMIT @count FOR UPDATE SKIP LOCKED)
            RETURNING id, custom_id, payload::text, estimated_input_tokens, internal_errors
            """);
        command.Parameters.AddWithValue("token", token);
        command.Parameters.AddWithValue("lease", (double)leaseSeconds);
        command.Parameters.AddWithValue("job", jobId);
        command.Parameters.AddWithValue("count", count);
        command.Parameters.AddWithValue("running", (int)ItemState.Running);
        command.Parameters.AddWithValue("pending", (int)ItemState.Pending);
        var items = new List<ClaimedItem>(count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new ClaimedItem(reader.GetInt64(0), jobId, reader.GetString(1), reader.GetString(2), token, reader.GetInt32(3), reader.GetInt32(4)));
        }
        return items;
    }

    /// <summary>
    /// Items whose worker died go back to the queue (or are cancelled if their job was). Calls their worker had sent
    /// and not written become attempts with outcome unknown and their possible cost, kept apart from the paid cost:
    /// the provider may have answered them. Returns the items returned and the calls put in doubt.
    /// </summary>
    public async Task<(int Items, int InDoubtCalls)> SweepExpiredAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($$"""
            WITH lost AS (
                SELECT i.id, i.attempts, i.calls_in_flight, i.in_flight_cost_usd, i.in_flight_provider_id, i.in_flight_model,
                       j.state = @cancelled_job AS job_cancelled
                FROM items i JOIN jobs j ON j.id = i.job_id
                WHERE i.state = @running AND i.lease_expires_at < now()
                FOR UPDATE OF i SKIP LOCKED),
            expired AS (
                UPDATE items i SET state = CASE WHEN l.job_cancelled THEN @cancelled ELSE @pending END, lease_token = NULL, lease_expires_at = NULL,
                                   completed_at = CASE WHEN l.job_cancelled THEN now() END,
                                   attempts = i.attempts + l.calls_in_flight, in_doubt_calls = i.in_doubt_calls + l.calls_in_flight,
                                   in_doubt_cost_usd = i.in_doubt_cost_usd + l.in_flight_cost_usd, calls_in_flight = 0, in_flight_cost_usd = 0
                FROM lost l
                WHERE i.id = l.id
                RETURNING i.id, i.job_id, i.state, l.attempts, l.calls_in_flight, l.in_flight_cost_usd, l.in_flight_provider_id, l.in_flight_model),
            unknown AS (
                INSERT INTO attempts (item_id, job_id, number, provider_id, provider_name, model_name, error_code, error_message,
                                      latency_ms, wait_ms, fallback, started_at, possible_cost_usd)
                SELECT e.id, e.job_id, e.attempts + g, e.in_flight_provider_id, coalesce(p.name, 'unknown'), coalesce(e.in_flight_model, 'unknown'),
                       '{{LedgerCodes.Unknown}}', 'the worker was lost during this call: the provider may have answered and charged it',
                       0, 0, false, now(), e.in_flight_cost_usd / e.calls_in_flight
                FROM expired e CROSS JOIN LATERAL generate_series(1, e.calls_in_flight) g
                LEFT JOIN providers p ON p.id = e.in_flight_provider_id
                WHERE e.calls_in_flight > 0),
            counted AS (
                UPDATE jobs SET cancelled_items = cancelled_items + c.cancelled, in_doubt_calls = in_doubt_calls + c.calls,
                                in_doubt_cost_usd = in_doubt_cost_usd + c.cost
                FROM (SELECT job_id, count(*) FILTER (WHERE state = @cancelled) AS cancelled, sum(calls_in_flight) AS calls,
                             sum(in_flight_cost_usd) AS cost
                      FROM expired GROUP BY job_id) c
                WHERE jobs.id = c.job_id)
            SELECT count(*)::int, coalesce(sum(calls_in_flight), 0)::int FROM expired
            """);
        command.Parameters.AddWithValue("running", (int)ItemState.Running);
        command.Parameters.AddWithValue("pending", (int)ItemState.Pending);
        command.Parameters.AddWithValue("cancelled", (int)ItemState.Cancelled);
        command.Parameters.AddWithValue("cancelled_job", (int)JobState.Cancelled);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt32(0), reader.GetInt32(1));
    }

    /// <summary>Cancels a batch of pending records of cancelled jobs, with the jobs' counters; returns how many.</summary>
    public async Task<int> CancelPendingAsync(int batchSize, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH cancelled AS (
                UPDATE items SET state = @cancelled, completed_at = now()
                WHERE id IN (SELECT i.id FROM jobs j JOIN items i ON i.job_id = j.id AND i.state = @pending
                             WHERE j.state = @cancelled_job LIMIT @batch FOR UPDATE OF i SKIP LOCKED)
                RETURNING job_id),
            counted AS (
                UPDATE jobs SET cancelled_items = cancelled_items + c.n
                FROM (SELECT job_id, count(*) AS n FROM cancelled GROUP BY job_id) c
                WHERE jobs.id = c.job_id)
            SELECT count(*) FROM cancelled
            """);
        command.Parameters.AddWithValue("batch", batchSize);
        command.Parameters.AddWithValue("cancelled", (int)ItemState.Cancelled);
        command.Parameters.AddWithValue("pending", (int)ItemState.Pending);
        command.Parameters.AddWithValue("cancelled_job", (int)JobState.Cancelled);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken));
    }

    /// <summary>
    /// Writes a batch of outcomes in one transaction: the item (only while its lease token holds), its attempts,
    /// and the job's counters. A worker whose lease expired writes nothing, so no result and no cost lands twice.
    /// </summary>
    public async Task<IReadOnlyList<long>> WriteAsync(IReadOnlyList<ItemOutcome> outcomes, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var accepted = new List<long>(outcomes.Count);
        var attemptsBefore = new Dictionary<long, int>(outcomes.Count);
        await using (var command = new NpgsqlCommand($$"""
            WITH r AS (
                SELECT * FROM unnest(@ids, @tokens, @states, @texts, @bodies, @finish, @input, @output, @latency,
                                     @providers, @models, @response_models, @status, @error_codes, @error_messages, @attempts,
                                     @usage_sources, @cached, @reasoning, @internal,
                                     @charged, @charged_input, @charged_output, @charged_cached, @charged_reasoning, @estimated_cost,
                                     @job_ids, @sent_routes, @sent_providers, @sent_models,
                                     @response_ids, @route_positions, @result_attempts, @embeddings, @embedding_dimensions)
                    AS r(id, token, state, text, body, finish, input_tokens, output_tokens, latency,
                         provider_id, model, response_model, status, error_code, error_message, attempts,
                         usage_source, cached, reasoning, internal,
                         charged, charged_input, charged_output, charged_cached, charged_reasoning, estimated_cost,
                         job_id, sent_route, sent_provider, sent_model,
                         response_id, route_position, result_attempt_in_claim, embedding, embedding_dimensions)),
            -- A failure decided on the target the job had when the record was sent stands; if the job's leftovers were
            -- moved meanwhile, the record goes back to the queue for the new target instead (its calls stay paid).
            -- The jobs are locked first: a move committing while this statement runs is waited for and then seen, so a
            -- failure on the target it left cannot slip in after its requeue (a locking read takes the newest version).
            jl AS (SELECT id, route_id, provider_id, model_name, endpoint, requested_model, parameters_hash, response_cache_ttl_seconds
                   FROM jobs WHERE id IN (SELECT job_id FROM r) ORDER BY id FOR UPDATE),
            rs AS (
                SELECT r.*, CASE WHEN r.state = @failed AND r.sent_model IS NOT NULL AND EXISTS (
                           SELECT 1 FROM jl jb WHERE jb.id = r.job_id AND (jb.route_id IS DISTINCT FROM r.sent_route
                               OR jb.provider_id IS DISTINCT FROM r.sent_provider OR jb.model_name IS DISTINCT FROM r.sent_model))
                       THEN @pending ELSE r.state END AS final_state
                FROM r),
            locked AS (SELECT id FROM items WHERE id IN (SELECT id FROM r) ORDER BY id FOR UPDATE),
            u AS (
                UPDATE items i SET state = r.final_state, response_text = r.text, response_body = r.body, finish_reason = r.finish,
                    input_tokens = r.input_tokens, output_tokens = r.output_tokens, latency_ms = r.latency,
                    cost_usd = CASE WHEN r.charged IS NULL THEN i.cost_usd ELSE coalesce(i.cost_usd, 0) + r.charged END,
                    provider_id = r.provider_id, model_name = r.model, response_model = r.response_model, status_code = r.status,
                    error_code = r.error_code, error_message = r.error_message, attempts = i.attempts + r.attempts,
                    usage_source = r.usage_source, cached_input_tokens = r.cached, reasoning_tokens = r.reasoning,
                    embedding = r.embedding, embedding_dimensions = r.embedding_dimensions,
                    internal_errors = i.internal_errors + CASE WHEN r.internal THEN 1 ELSE 0 END,
                    -- i.attempts is the count before this claim's calls, so the claim's attempt n is the record's attempt i.attempts + n.
                    -- A record going back to the queue has no result, so no lineage.
                    response_id = CASE WHEN r.final_state = @pending THEN NULL ELSE r.response_id END,
                    route_position = CASE WHEN r.final_state = @pending THEN NULL ELSE r.route_position END,
                    result_attempt = CASE WHEN r.final_state = @pending THEN NULL ELSE i.attempts + r.result_attempt_in_claim END,
                    calls_in_flight = 0, in_flight_cost_usd = 0,
                    -- A record given back to the queue leaves its provider batch; an answered one keeps the batch that answered it.
                    provider_batch_id = CASE WHEN r.final_state = @pending THEN NULL ELSE i.provider_batch_id END,
                    lease_token = NULL, lease_expires_at = NULL, completed_at = CASE WHEN r.final_state IN (@succeeded, @failed, @cancelled) THEN now() END
                FROM rs r JOIN locked l ON l.id = r.id
                WHERE i.id = r.id AND i.lease_token = r.token AND i.state = @running
                RETURNING i.id, i.job_id, i.state, r.charged, r.charged_input, r.charged_output, r.charged_cached, r.charged_reasoning, r.estimated_cost,
                          i.attempts - r.attempts AS attempts_before,
                          i.response_text, i.response_body, i.finish_reason, i.latency_ms, i.provider_id, i.model_name, i.response_model,
                          i.status_code, i.error_code, i.error_message, i.response_id, i.route_position, i.completed_at,
                          i.embedding, i.embedding_dimensions, i.request_hash),
            -- A leader's accepted answer (or failure) goes to its pending followers in the same statement. They paid
            -- nothing: cost and tokens 0, no attempt of their own, usage 'deduplicated'. The statement sees one
            -- snapshot, so they are updated from u's RETURNING and counted with u below. A leader released to the
            -- queue, cancelled, or fenced off (not in u) leaves its followers waiting.
            f AS (
                UPDATE items fi SET state = u.state, response_text = u.response_text, response_body = u.response_body,
                    finish_reason = u.finish_reason, latency_ms = u.latency_ms, provider_id = u.provider_id, model_name = u.model_name,
                    response_model = u.response_model, status_code = u.status_code, error_code = u.error_code, error_message = u.error_message,
                    response_id = u.response_id, route_position = u.route_position, result_attempt = NULL,
                    embedding = u.embedding, embedding_dimensions = u.embedding_dimensions,
                    input_tokens = 0, output_tokens = 0, cached_input_tokens = 0, reasoning_tokens = 0, cost_usd = 0,
                    usage_source = '{{UsageSources.Deduplicated}}', attempts = 0, completed_at = u.completed_at
                FROM u
                WHERE fi.duplicate_of = u.id AND fi.state = @pending AND u.state IN (@succeeded, @failed)
                RETURNING fi.job_id, fi.state),
            -- A job that opted in to the response cache leaves its paid answers for later jobs, for its TTL. One entry a
            -- key: two jobs answering the same request in one batch keep the later id's.
            cached AS (
                INSERT INTO response_cache (key, source_item_id, source_job_id, response_text, response_body, finish_reason, response_model,
                    response_id, provider_id, model_name, status_code, embedding, embedding_dimensions, created_at, expires_at)
                SELECT DISTINCT ON (c.key) c.key, u.id, u.job_id, u.response_text, u.response_body, u.finish_reason, u.response_model,
                    u.response_id, u.provider_id, u.model_name, u.status_code, u.embedding, u.embedding_dimensions, now(),
                    now() + make_interval(secs => jb.response_cache_ttl_seconds)
                FROM u JOIN jl jb ON jb.id = u.job_id
                CROSS JOIN LATERAL (SELECT response_cache_key(jb.endpoint, jb.requested_model, jb.parameters_hash, u.request_hash) AS key) c
                WHERE u.state = @succeeded AND jb.response_cache_ttl_seconds IS NOT NULL AND u.request_hash IS NOT NULL
                ORDER BY c.key, u.id DESC
                ON CONFLICT (key) DO UPDATE SET source_item_id = excluded.source_item_id, source_job_id = excluded.source_job_id,
                    response_text = excluded.response_text, response_body = excluded.response_body, finish_reason = excluded.finish_reason,
                    response_model = excluded.response_model, response_id = excluded.response_id, provider_id = excluded.provider_id,
                    model_name = excluded.model_name, status_code = excluded.status_code, embedding = excluded.embedding,
                    embedding_dimensions = excluded.embedding_dimensions, created_at = excluded.created_at, expires_at = excluded.expires_at
                RETURNING 1),
            counted AS (
                SELECT job_id, state, charged, charged_input, charged_output, charged_cached, charged_reasoning, estimated_cost FROM u
                UNION ALL
                SELECT job_id, state, NULL, 0, 0, 0, 0, 0 FROM f),
            j AS (
                UPDATE jobs SET succeeded_items = succeeded_items + s.ok, failed_items = failed_items + s.failed,
                    cancelled_items = cancelled_items + s.cancelled, input_tokens = jobs.input_tokens + s.input_tokens,
                    output_tokens = jobs.output_tokens + s.output_tokens, cost_usd = jobs.cost_usd + s.cost,
                    cached_input_tokens = jobs.cached_input_tokens + s.cached, reasoning_tokens = jobs.reasoning_tokens + s.reasoning,
                    estimated_usage_cost_usd = jobs.estimated_usage_cost_usd + s.estimated_cost
                FROM (SELECT job_id, count(*) FILTER (WHERE state = @succeeded) AS ok, count(*) FILTER (WHERE state = @failed) AS failed,
                             count(*) FILTER (WHERE state = @cancelled) AS cancelled, sum(charged_input) AS input_tokens,
                             sum(charged_output) AS output_tokens, coalesce(sum(charged), 0) AS cost,
                             sum(charged_cached) AS cached, sum(charged_reasoning) AS reasoning, sum(estimated_cost) AS estimated_cost
                      FROM counted GROUP BY job_id) s
                WHERE jobs.id = s.job_id)
            -- The main query reads cached: left unreferenced, Postgres 15 ran it after u's rows were consumed and it stored nothing.
            SELECT id, attempts_before FROM u CROSS JOIN (SELECT count(*) FROM cached) stored
            """, connection, transaction))
        {
            command.Parameters.Add(Array("ids", NpgsqlDbType.Bigint, outcomes.Select(o => o.Item.Id)));
            command.Parameters.Add(Array("tokens", NpgsqlDbType.Uuid, outcomes.Select(o => o.Item.LeaseToken)));
            command.Parameters.Add(Array("states", NpgsqlDbType.Integer, outcomes.Select(o => (int)o.State)));
            command.Parameters.Add(Array("texts", NpgsqlDbType.Text, outcomes.Select(o => o.ResponseText)));
            command.Parameters.Add(Array("bodies", NpgsqlDbType.Text, outcomes.Select(o => o.ResponseBody)));
            command.Parameters.Add(Array("finish", NpgsqlDbType.Text, outcomes.Select(o => o.FinishReason)));
            command.Parameters.Add(Array("input", NpgsqlDbType.Integer, outcomes.Select(o => o.InputTokens)));
            command.Parameters.Add(Array("output", NpgsqlDbType.Integer, outcomes.Select(o => o.OutputTokens)));
            command.Parameters.Add(Array("latency", NpgsqlDbType.Integer, outcomes.Select(o => o.LatencyMs)));
            command.Parameters.Add(Array("providers", NpgsqlDbType.Uuid, outcomes.Select(o => o.ProviderId)));
            command.Parameters.Add(Array("models", NpgsqlDbType.Text, outcomes.Select(o => o.ModelName)));
            command.Parameters.Add(Array("response_models", NpgsqlDbType.Text, outcomes.Select(o => o.ResponseModel)));
            command.Parameters.Add(Array("status", NpgsqlDbType.Integer, outcomes.Select(o => o.StatusCode)));
            command.Parameters.Add(Array("error_codes", NpgsqlDbType.Text, outcomes.Select(o => o.ErrorCode)));
            command.Parameters.Add(Array("error_messages", NpgsqlDbType.Text, outcomes.Select(o => o.ErrorMessage)));
            command.Parameters.Add(Array("attempts", NpgsqlDbType.Integer, outcomes.Select(o => o.Attempts?.Count ?? 0)));
            command.Parameters.Add(Array("usage_sources", NpgsqlDbType.Text, outcomes.Select(o => o.UsageSource)));
            command.Parameters.Add(Array("cached", NpgsqlDbType.Integer, outcomes.Select(o => o.CachedInputTokens)));
            command.Parameters.Add(Array("reasoning", NpgsqlDbType.Integer, outcomes.Select(o => o.ReasoningTokens)));
            command.Parameters.Add(Array("internal", NpgsqlDbType.Boolean, outcomes.Select(o => o.Internal)));
            command.Parameters.Add(Array("charged", NpgsqlDbType.Numeric, outcomes.Select(o => o.ChargedUsd)));
            command.Parameters.Add(Array("charged_input", NpgsqlDbType.Bigint, outcomes.Select(o => o.ChargedInputTokens)));
            command.Parameters.Add(Array("charged_output", NpgsqlDbType.Bigint, outcomes.Select(o => o.ChargedOutputTokens)));
            command.Parameters.Add(Array("charged_cached", NpgsqlDbType.Bigint, outcomes.Select(o => o.ChargedCachedInputTokens)));
            command.Parameters.Add(Array("charged_reasoning", NpgsqlDbType.Bigint, outcomes.Select(o => o.ChargedReasoningTokens)));
            command.Parameters.Add(Array("estimated_cost", NpgsqlDbType.Numeric, outcomes.Select(o => o.EstimatedUsageCostUsd)));
            command.Parameters.Add(Array("job_ids", NpgsqlDbType.Uuid, outcomes.Select(o => o.Item.JobId)));
            command.Parameters.Add(Array("sent_routes", NpgsqlDbType.Uuid, outcomes.Select(o => o.SentTo?.RouteId)));
            command.Parameters.Add(Array("sent_providers", NpgsqlDbType.Uuid, outcomes.Select(o => o.SentTo?.ProviderId)));
            command.Parameters.Add(Array("sent_models", NpgsqlDbType.Text, outcomes.Select(o => o.SentTo?.ModelName)));
            command.Parameters.Add(Array("response_ids", NpgsqlDbType.Text, outcomes.Select(o => o.ResponseId)));
            command.Parameters.Add(Array("route_positions", NpgsqlDbType.Integer, outcomes.Select(o => o.RoutePosition)));
            command.Parameters.Add(Array("result_attempts", NpgsqlDbType.Integer, outcomes.Select(o => o.ResultAttemptInClaim)));
            command.Parameters.Add(Array("embeddings", NpgsqlDbType.Bytea, outcomes.Select(o => o.Embedding)));
            command.Parameters.Add(Array("embedding_dimensions", NpgsqlDbType.Integer, outcomes.Select(o => o.EmbeddingDimensions)));
            command.Parameters.AddWithValue("pending", (int)ItemState.Pending);
            command.Parameters.AddWithValue("running", (int)ItemState.Running);
            command.Parameters.AddWithValue("succeeded", (int)ItemState.Succeeded);
            command.Parameters.AddWithValue("failed", (int)ItemState.Failed);
            command.Parameters.AddWithValue("cancelled", (int)ItemState.Cancelled);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                accepted.Add(reader.GetInt64(0));
                attemptsBefore[reader.GetInt64(0)] = reader.GetInt32(1);
            }
        }

        var acceptedSet = accepted.ToHashSet();
        var attempts = outcomes.Where(o => acceptedSet.Contains(o.Item.Id) && o.Attempts is not null)
            .SelectMany(o => o.Attempts!.Select(a => (o.Item, a))).ToList();
        if (attempts.Count > 0)
        {
            await using var copy = await connection.BeginBinaryImportAsync("""
                COPY attempts (item_id, job_id, number, provider_id, provider_name, model_name, status_code, error_code, error_message,
                               latency_ms, wait_ms, fallback, started_at, input_tokens, output_tokens, cost_usd,
                               usage_source, cached_input_tokens, reasoning_tokens, provider_batch_id) FROM STDIN (FORMAT BINARY)
                """, cancellationToken);
            foreach (var (item, a) in attempts)
            {
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(item.Id, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(item.JobId, NpgsqlDbType.Uuid, cancellationToken);
                // Numbered across the record's life, like the item's attempts counter, its result_attempt and the sweep's unknown calls.
                await copy.WriteAsync(attemptsBefore[item.Id] + a.Number, NpgsqlDbType.Integer, cancellationToken);
                await WriteNullable(copy, a.ProviderId, NpgsqlDbType.Uuid, cancellationToken);
                await copy.WriteAsync(a.ProviderName, NpgsqlDbType.Varchar, cancellationToken);
                await copy.WriteAsync(a.ModelName, NpgsqlDbType.Varchar, cancellationToken);
                await WriteNullable(copy, a.StatusCode, NpgsqlDbType.Integer, cancellationToken);
                await WriteNullable(copy, a.ErrorCode, NpgsqlDbType.Varchar, cancellationToken);
                await WriteNullable(copy, a.ErrorMessage, NpgsqlDbType.Text, cancellationToken);
                await copy.WriteAsync(a.LatencyMs, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(a.WaitMs, NpgsqlDbType.Integer, cancellationToken);
                await copy.WriteAsync(a.Fallback, NpgsqlDbType.Boolean, cancellationToken);
                await copy.WriteAsync(a.StartedAt, NpgsqlDbType.TimestampTz, cancellationToken);
                await WriteNullable(copy, a.InputTokens, NpgsqlDbType.Integer, cancellationToken);
                await WriteNullable(copy, a.OutputTokens, NpgsqlDbType.Integer, cancellationToken);
                await WriteNullable(copy, a.CostUsd, NpgsqlDbType.Numeric, cancellationToken);
                await WriteNullable(copy, a.UsageSource, NpgsqlDbType.Varchar, cancellationToken);
                await WriteNullable(copy, a.CachedInputTokens, NpgsqlDbType.Integer, cancellationToken);
                await WriteNullable(copy, a.ReasoningTokens, NpgsqlDbType.Integer, cancellationToken);
                await WriteNullable(copy, a.ProviderBatchId, NpgsqlDbType.Uuid, cancellationToken);
            }
            await copy.CompleteAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return accepted;
    }

    /// <summary>
    /// Takes up to <paramref name="maxLines"/> pending records of a job (never a duplicate's follower) into a new provider
    /// batch, in one transaction with the batch's row (<see cref="ProviderBatchState.Packing"/>): the records become
    /// running with the batch's lease token and no lease expiry, so the claim (pending only) and the lease sweeper
    /// (expired leases only) both pass them by until the batch writes their results or gives them back. Returns the
    /// records taken; 0 leaves no row. One worker packs a job at a time: SKIP LOCKED alone lets two workers packing
    /// together split the same pending records into two half-size batches.
    /// </summary>
    public async Task<int> PackProviderBatchAsync(NewProviderBatch batch, int maxLines, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var exclusive = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock(@class, hashtext(@job::text))", connection, transaction))
        {
            exclusive.Parameters.AddWithValue("class", PackingLockClass);
            exclusive.Parameters.AddWithValue("job", batch.JobId);
            if (await exclusive.ExecuteScalarAsync(cancellationToken) is not true)
            {
                await transaction.RollbackAsync(cancellationToken);
                return 0; // another worker is packing this job; what it leaves is packed on a later tick
            }
        }
        await using (var insert = new NpgsqlCommand("""
            INSERT INTO provider_batches (id, job_id, provider_id, model, endpoint, state, lease_token, line_count, bytes, completed_lines, failed_lines,
                released_lines, input_price_per_m_tok, output_price_per_m_tok, realtime_input_price_per_m_tok, realtime_output_price_per_m_tok,
                polls, trace_parent, created_at, updated_at)
            VALUES (@id, @job, @provider, @model, @endpoint, @packing, @token, 0, 0, 0, 0, 0, @in, @out, @rt_in, @rt_out, 0, @trace, now(), now())
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("id", batch.Id);
            insert.Parameters.AddWithValue("job", batch.JobId);
            insert.Parameters.AddWithValue("provider", batch.ProviderId);
            insert.Parameters.AddWithValue("model", batch.Model);
            insert.Parameters.AddWithValue("endpoint", (int)batch.Endpoint);
            insert.Parameters.AddWithValue("packing", (int)ProviderBatchState.Packing);
            insert.Parameters.AddWithValue("token", batch.LeaseToken);
            insert.Parameters.AddWithValue("in", batch.InputPricePerMTok);
            insert.Parameters.AddWithValue("out", batch.OutputPricePerMTok);
            insert.Parameters.AddWithValue("rt_in", batch.RealtimeInputPricePerMTok);
            insert.Parameters.AddWithValue("rt_out", batch.RealtimeOutputPricePerMTok);
            insert.Parameters.AddWithValue("trace", NpgsqlDbType.Text, (object?)batch.TraceParent ?? DBNull.Value);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        int taken;
        await using (var take = new NpgsqlCommand("""
            WITH taken AS (
                UPDATE items SET state = @running, lease_token = @token, lease_expires_at = NULL, provider_batch_id = @id,
                                 started_at = coalesce(started_at, now())
                WHERE id IN (SELECT id FROM items WHERE job_id = @job AND state = @pending AND duplicate_of IS NULL ORDER BY id LIMIT @max FOR UPDATE SKIP LOCKED)
                RETURNING 1),
            counted AS (SELECT count(*)::int AS n FROM taken),
            sized AS (UPDATE provider_batches SET line_count = c.n FROM counted c WHERE provider_batches.id = @id)
            SELECT n FROM counted
            """, connection, transaction))
        {
            take.Parameters.AddWithValue("id", batch.Id);
            take.Parameters.AddWithValue("job", batch.JobId);
            take.Parameters.AddWithValue("token", batch.LeaseToken);
            take.Parameters.AddWithValue("max", maxLines);
            take.Parameters.AddWithValue("running", (int)ItemState.Running);
            take.Parameters.AddWithValue("pending", (int)ItemState.Pending);
            taken = Convert.ToInt32(await take.ExecuteScalarAsync(cancellationToken));
        }
        if (taken == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return 0;
        }
        await transaction.CommitAsync(cancellationToken);
        return taken;
    }

    /// <summary>
    /// Gives a provider batch's records that got no result back to the queue: those after <paramref name="afterItemId"/>
    /// (a chunk trimmed to its size limit before upload), or all that are left once its results are written (expired,
    /// cancelled, never answered). Fenced by the batch's lease token like a result, so repeating it after a crash moves
    /// nothing twice. A cancelled job's records given back are then cancelled by <see cref="CancelPendingAsync"/>.
    /// </summary>
    public async Task<int> ReleaseProviderBatchAsync(Guid batchId, Guid leaseToken, long? afterItemId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE items SET state = @pending, lease_token = NULL, lease_expires_at = NULL, provider_batch_id = NULL
            WHERE provider_batch_id = @id AND lease_token = @token AND state = @running AND (@after::bigint IS NULL OR id > @after)
            """);
        command.Parameters.AddWithValue("id", batchId);
        command.Parameters.AddWithValue("token", leaseToken);
        command.Parameters.AddWithValue("after", NpgsqlDbType.Bigint, (object?)afterItemId ?? DBNull.Value);
        command.Parameters.AddWithValue("pending", (int)ItemState.Pending);
        command.Parameters.AddWithValue("running", (int)ItemState.Running);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter Array<T>(string name, NpgsqlDbType type, IEnumerable<T> values) =>
        new(name, NpgsqlDbType.Array | type) { Value = values.ToArray() };

    private static async Task WriteNullable<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlDbType type, CancellationToken cancellationToken)
    {
        if (value is null)
        {
            await copy.WriteNullAsync(cancellationToken);
        }
        else
        {
            await copy.WriteAsync(value, type, cancellationToken);
        }
    }
}
