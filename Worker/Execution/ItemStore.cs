using AspireBatch.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace AspireBatch.Worker.Execution;

public sealed record ClaimedItem(long Id, Guid JobId, string CustomId, string Payload, Guid LeaseToken, int EstimatedInputTokens = 0);

/// <summary>One call made for an item, as the ledger keeps it.</summary>
public sealed record AttemptRecord(
    int Number, Guid? ProviderId, string ProviderName, string ModelName, int? StatusCode, string? ErrorCode, string? ErrorMessage,
    int LatencyMs, int WaitMs, bool Fallback, DateTimeOffset StartedAt, int? InputTokens, int? OutputTokens, decimal? CostUsd);

/// <summary>
/// What an item's processing ended with. Pending means "released": the job was paused while the item waited to
/// retry, so it goes back to the queue unpaid.
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
    IReadOnlyList<AttemptRecord>? Attempts = null);

/// <summary>The Worker's hot path in SQL: claim with SKIP LOCKED and a lease token, write results fenced by that token.</summary>
public sealed class ItemStore(NpgsqlDataSource dataSource)
{
    public async Task<IReadOnlyList<ClaimedItem>> ClaimAsync(Guid jobId, int count, int leaseSeconds, CancellationToken cancellationToken)
    {
        var token = Guid.NewGuid();
        await using var command = dataSource.CreateCommand("""
            UPDATE items SET state = 1, lease_token = @token, lease_expires_at = now() + make_interval(secs => @lease),
                             started_at = coalesce(started_at, now())
            WHERE id IN (SELECT id FROM items WHERE job_id = @job AND state = 0 ORDER BY id LIMIT @count FOR UPDATE SKIP LOCKED)
            RETURNING id, custom_id, payload::text, estimated_input_tokens
            """);
        command.Parameters.AddWithValue("token", token);
        command.Parameters.AddWithValue("lease", (double)leaseSeconds);
        command.Parameters.AddWithValue("job", jobId);
        command.Parameters.AddWithValue("count", count);
        var items = new List<ClaimedItem>(count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            items.Add(new ClaimedItem(reader.GetInt64(0), jobId, reader.GetString(1), reader.GetString(2), token, reader.GetInt32(3)));
        }
        return items;
    }

    public async Task RenewAsync(Guid[] tokens, int leaseSeconds, CancellationToken cancellationToken)
    {
        if (tokens.Length == 0)
        {
            return;
        }
        await using var command = dataSource.CreateCommand(
            "UPDATE items SET lease_expires_at = now() + make_interval(secs => @lease) WHERE lease_token = ANY(@tokens) AND state = 1");
        command.Parameters.AddWithValue("lease", (double)leaseSeconds);
        command.Parameters.AddWithValue("tokens", tokens);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Items whose worker died go back to the queue (or are cancelled if their job was); returns how many.</summary>
    public async Task<int> SweepExpiredAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH expired AS (
                UPDATE items i SET state = CASE WHEN j.state = 6 THEN 4 ELSE 0 END, lease_token = NULL, lease_expires_at = NULL,
                                   completed_at = CASE WHEN j.state = 6 THEN now() END
                FROM jobs j
                WHERE j.id = i.job_id AND i.state = 1 AND i.lease_expires_at < now()
                RETURNING i.job_id, i.state),
            cancelled AS (
                UPDATE jobs SET cancelled_items = cancelled_items + c.n
                FROM (SELECT job_id, count(*) AS n FROM expired WHERE state = 4 GROUP BY job_id) c
                WHERE jobs.id = c.job_id)
            SELECT count(*) FROM expired
            """);
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken));
    }

    /// <summary>Marks a batch of pending items of cancelled jobs as cancelled, with the jobs' counters; returns how many.</summary>
    public async Task<int> CancelPendingAsync(int batchSize, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH cancelled AS (
                UPDATE items SET state = 4, completed_at = now()
                WHERE id IN (SELECT i.id FROM jobs j JOIN items i ON i.job_id = j.id AND i.state = 0
                             WHERE j.state = 6 LIMIT @batch FOR UPDATE OF i SKIP LOCKED)
                RETURNING job_id),
            counted AS (
                UPDATE jobs SET cancelled_items = cancelled_items + c.n
                FROM (SELECT job_id, count(*) AS n FROM cancelled GROUP BY job_id) c
                WHERE jobs.id = c.job_id)
            SELECT count(*) FROM cancelled
            """);
        command.Parameters.AddWithValue("batch", batchSize);
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
        await using (var command = new NpgsqlCommand("""
            WITH r AS (
                SELECT * FROM unnest(@ids, @tokens, @states, @texts, @bodies, @finish, @input, @output, @cost, @latency,
                                     @providers, @models, @response_models, @status, @error_codes, @error_messages, @attempts)
                    AS r(id, token, state, text, body, finish, input_tokens, output_tokens, cost, latency,
                         provider_id, model, response_model, status, error_code, error_message, attempts)),
            u AS (
                UPDATE items i SET state = r.state, response_text = r.text, response_body = r.body, finish_reason = r.finish,
                    input_tokens = r.input_tokens, output_tokens = r.output_tokens, cost_usd = r.cost, latency_ms = r.latency,
                    provider_id = r.provider_id, model_name = r.model, response_model = r.response_model, status_code = r.status,
                    error_code = r.error_code, error_message = r.error_message, attempts = i.attempts + r.attempts,
                    lease_token = NULL, lease_expires_at = NULL, completed_at = CASE WHEN r.state IN (2, 3, 4) THEN now() END
                FROM r
                WHERE i.id = r.id AND i.lease_token = r.token AND i.state = 1
                RETURNING i.id, i.job_id, i.state, i.input_tokens, i.output_tokens, i.cost_usd),
            j AS (
                UPDATE jobs SET succeeded_items = succeeded_items + s.ok, failed_items = failed_items + s.failed,
                    cancelled_items = cancelled_items + s.cancelled, input_tokens = jobs.input_tokens + s.input_tokens,
                    output_tokens = jobs.output_tokens + s.output_tokens, cost_usd = jobs.cost_usd + s.cost
                FROM (SELECT job_id, count(*) FILTER (WHERE state = 2) AS ok, count(*) FILTER (WHERE state = 3) AS failed,
                             count(*) FILTER (WHERE state = 4) AS cancelled, coalesce(sum(input_tokens), 0) AS input_tokens,
                             coalesce(sum(output_tokens), 0) AS output_tokens, coalesce(sum(cost_usd), 0) AS cost
                      FROM u GROUP BY job_id) s
                WHERE jobs.id = s.job_id)
            SELECT id FROM u
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
            command.Parameters.Add(Array("cost", NpgsqlDbType.Numeric, outcomes.Select(o => o.CostUsd)));
            command.Parameters.Add(Array("latency", NpgsqlDbType.Integer, outcomes.Select(o => o.LatencyMs)));
            command.Parameters.Add(Array("providers", NpgsqlDbType.Uuid, outcomes.Select(o => o.ProviderId)));
            command.Parameters.Add(Array("models", NpgsqlDbType.Text, outcomes.Select(o => o.ModelName)));
            command.Parameters.Add(Array("response_models", NpgsqlDbType.Text, outcomes.Select(o => o.ResponseModel)));
            command.Parameters.Add(Array("status", NpgsqlDbType.Integer, outcomes.Select(o => o.StatusCode)));
            command.Parameters.Add(Array("error_codes", NpgsqlDbType.Text, outcomes.Select(o => o.ErrorCode)));
            command.Parameters.Add(Array("error_messages", NpgsqlDbType.Text, outcomes.Select(o => o.ErrorMessage)));
            command.Parameters.Add(Array("attempts", NpgsqlDbType.Integer, outcomes.Select(o => o.Attempts?.Count ?? 0)));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                accepted.Add(reader.GetInt64(0));
            }
        }

        var acceptedSet = accepted.ToHashSet();
        var attempts = outcomes.Where(o => acceptedSet.Contains(o.Item.Id) && o.Attempts is not null)
            .SelectMany(o => o.Attempts!.Select(a => (o.Item, a))).ToList();
        if (attempts.Count > 0)
        {
            await using var copy = await connection.BeginBinaryImportAsync("""
                COPY attempts (item_id, job_id, number, provider_id, provider_name, model_name, status_code, error_code, error_message,
                               latency_ms, wait_ms, fallback, started_at, input_tokens, output_tokens, cost_usd) FROM STDIN (FORMAT BINARY)
                """, cancellationToken);
            foreach (var (item, a) in attempts)
            {
                await copy.StartRowAsync(cancellationToken);
                await copy.WriteAsync(item.Id, NpgsqlDbType.Bigint, cancellationToken);
                await copy.WriteAsync(item.JobId, NpgsqlDbType.Uuid, cancellationToken);
                await copy.WriteAsync(a.Number, NpgsqlDbType.Integer, cancellationToken);
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
            }
            await copy.CompleteAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return accepted;
    }

    /// <summary>Completes finished jobs and pauses those over budget; returns the jobs that changed.</summary>
    public async Task<IReadOnlyList<Guid>> SettleJobsAsync(Guid[] jobIds, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH done AS (
                UPDATE jobs SET state = 4, completed_at = now(), state_reason = NULL
                WHERE (cardinality(@jobs) = 0 OR id = ANY(@jobs)) AND state = 2
                  AND succeeded_items + failed_items + cancelled_items >= total_items
                RETURNING id),
            over AS (
                UPDATE jobs SET state = 3, state_reason = 'budget reached: ' || round(cost_usd, 6) || ' of ' || round(budget_usd, 6) || ' USD'
                WHERE (cardinality(@jobs) = 0 OR id = ANY(@jobs)) AND state = 2 AND budget_usd IS NOT NULL AND cost_usd >= budget_usd
                  AND id NOT IN (SELECT id FROM done)
                RETURNING id)
            SELECT id FROM done UNION ALL SELECT id FROM over
            """);
        command.Parameters.AddWithValue("jobs", jobIds);
        var changed = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            changed.Add(reader.GetGuid(0));
        }
        return changed;
    }

    /// <summary>A provider refused the key: pause the job with the reason instead of failing every record.</summary>
    public async Task PauseJobAsync(Guid jobId, string reason, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("UPDATE jobs SET state = 3, state_reason = @reason WHERE id = @id AND state IN (1, 2)");
        command.Parameters.AddWithValue("id", jobId);
        command.Parameters.AddWithValue("reason", reason);
        await command.ExecuteNonQueryAsync(cancellationToken);
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
