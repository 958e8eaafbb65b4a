using System.Diagnostics;
using AspireBatch.Contracts;
using AspireBatch.Data.Lifecycle;
using AspireBatch.Data.Services;
using Npgsql;
using NpgsqlTypes;

namespace AspireBatch.Api.Services.Import;

/// <summary>
/// Where an import's good records go. <see cref="None"/> keeps nothing (a preview). <see cref="OpenAsync"/> opens one
/// transaction that holds the job row (with its Idempotency-Key) and a binary COPY of the records; disposing it
/// without <see cref="CommitAsync"/> rolls everything back.
/// </summary>
public sealed class ItemSink : IAsyncDisposable
{
    private const string CopyItems =
        "COPY items (job_id, line_number, custom_id, state, payload, estimated_input_tokens, attempts, created_at, request_hash) FROM STDIN (FORMAT BINARY)";

    private readonly NpgsqlConnection? _connection;
    private readonly NpgsqlTransaction? _transaction;
    private readonly Guid _jobId;
    private readonly DateTimeOffset _now;
    private NpgsqlBinaryImporter? _copy;

    private ItemSink(NpgsqlConnection? connection, NpgsqlTransaction? transaction, NpgsqlBinaryImporter? copy, Guid jobId, DateTimeOffset now, Guid? existing = null)
    {
        (_connection, _transaction, _copy, _jobId, _now, Existing) = (connection, transaction, copy, jobId, now, existing);
    }

    public static ItemSink None { get; } = new(null, null, null, Guid.Empty, default);

    /// <summary>Set when a request with the same Idempotency-Key created its job first: this sink then keeps nothing.</summary>
    public Guid? Existing { get; }

    public static Task<ItemSink> OpenAsync(NpgsqlDataSource dataSource, Guid jobId, JobImportRequest request, DateTimeOffset now, CancellationToken cancellationToken) =>
        // Nothing was read from the upload yet and nothing stored: a pooled connection that died with a Postgres restart
        // costs one more open, not the request.
        DatabaseFaults.ReopenOnceAsync(() => OpenOnceAsync(dataSource, jobId, request, now, cancellationToken));

    private static async Task<ItemSink> OpenOnceAsync(NpgsqlDataSource dataSource, Guid jobId, JobImportRequest request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var transaction = await connection.BeginTransactionAsync(cancellationToken);
        try
        {
            // The key goes in with the job row, first: a second request with the same key waits here on the unique index
            // until this transaction ends, then fails (and reads our job) or goes on (we rolled back).
            await JobLifecycle.CreateAsync(connection, new NewJob(jobId, request.Name, request.StartPaused, request.Format, request.RequestedModel,
                request.SystemTemplate, request.UserTemplate, request.Temperature, request.MaxTokens, request.ResponseFormat, request.Metadata,
                request.BudgetUsd, request.IsBatch, request.InputFileId, request.IdempotencyKey, Activity.Current?.Id, now, request.Dedup,
                request.Endpoint, request.Dimensions, request.ResponseCacheTtlSeconds, request.Team, request.ApiKeyId, request.Mode, request.Deadline,
                request.OutputExpiresAfterSeconds), cancellationToken);
        }
        catch (PostgresException e) when (JobImporter.IsRepeatedKey(e))
        {
            await transaction.RollbackAsync(cancellationToken);
            var existing = await FindByKeyAsync(connection, request.IdempotencyKey!, request.IsBatch, cancellationToken)
                ?? throw new InvalidOperationException($"the job holding Idempotency-Key \"{request.IdempotencyKey}\" vanished");
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
            return new ItemSink(null, null, null, jobId, now, existing);
        }
        catch
        {
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
            throw;
        }
        return new ItemSink(connection, transaction, await connection.BeginBinaryImportAsync(CopyItems, cancellationToken), jobId, now);
    }

    /// <summary>Adds a good record; <paramref name="requestHash"/> is its dedup key, null when it does not take part.</summary>
    public async ValueTask AddAsync(SourceRecord record, int estimatedInputTokens, byte[]? requestHash, CancellationToken cancellationToken)
    {
        if (_copy is null)
        {
            return;
        }
        await _copy.StartRowAsync(cancellationToken);
        await _copy.WriteAsync(_jobId, NpgsqlDbType.Uuid, cancellationToken);
        await _copy.WriteAsync(record.Line, NpgsqlDbType.Integer, cancellationToken);
        await _copy.WriteAsync(record.Id!, NpgsqlDbType.Varchar, cancellationToken);
        await _copy.WriteAsync((int)ItemState.Pending, NpgsqlDbType.Integer, cancellationToken);
        await _copy.WriteAsync(record.Payload!, NpgsqlDbType.Jsonb, cancellationToken);
        await _copy.WriteAsync(estimatedInputTokens, NpgsqlDbType.Integer, cancellationToken);
        await _copy.WriteAsync(0, NpgsqlDbType.Integer, cancellationToken);
        await _copy.WriteAsync(_now, NpgsqlDbType.TimestampTz, cancellationToken);
        if (requestHash is null)
        {
            await _copy.WriteNullAsync(cancellationToken);
        }
        else
        {
            await _copy.WriteAsync(requestHash, NpgsqlDbType.Bytea, cancellationToken);
        }
    }

    /// <summary>The file turned out bad: stop sending records (the transaction rolls back at dispose).</summary>
    public async ValueTask AbandonAsync()
    {
        if (_copy is not null)
        {
            // Disposing without Complete cancels the COPY.
            try { await _copy.DisposeAsync(); } catch (PostgresException) { } catch (NpgsqlException) { }
            _copy = null;
        }
    }

    /// <summary>
    /// The whole file was good: complete the COPY, give the job its target, endpoint (an OpenAI Batch file's comes from
    /// its lines) and totals, mark the duplicates when records have a dedup key, answer what the response cache holds
    /// (for a job that opted in), commit. Returns the records that follow another (the calls dedup saves) and those the
    /// cache answered.
    /// </summary>
    public async Task<(int Followers, int Cached)> CommitAsync(string requestedModel, ResolvedTarget target, JobEstimate estimate, JobEndpoint endpoint,
        bool markDuplicates, CancellationToken cancellationToken)
    {
        if (_connection is null)
        {
            return (0, 0);
        }
        await _copy!.CompleteAsync(cancellationToken);
        await _copy.DisposeAsync();
        _copy = null;
        await using (var command = new NpgsqlCommand("""
            UPDATE jobs SET requested_model = @requested, route_id = @route, provider_id = @provider, model_name = @model,
                total_items = @total, estimated_input_tokens = @tokens, estimated_cost_bound_usd = @bound, endpoint = @endpoint
            WHERE id = @id
            """, _connection))
        {
            command.Parameters.AddWithValue("id", _jobId);
            command.Parameters.AddWithValue("requested", requestedModel);
            command.Parameters.AddWithValue("route", (object?)target.RouteId ?? DBNull.Value);
            command.Parameters.AddWithValue("provider", target.RouteId is null ? target.ProviderId! : DBNull.Value);
            command.Parameters.AddWithValue("model", target.ModelName);
            command.Parameters.AddWithValue("total", estimate.Items);
            command.Parameters.AddWithValue("tokens", estimate.InputTokens);
            command.Parameters.AddWithValue("bound", estimate.CostBoundUsd);
            command.Parameters.AddWithValue("endpoint", (int)endpoint);
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        var followers = markDuplicates ? await JobLifecycle.MarkDuplicatesAsync(_connection, _jobId, cancellationToken) : 0;
        var cached = markDuplicates ? await JobLifecycle.AnswerFromCacheAsync(_connection, _jobId, cancellationToken) : (Answered: 0, Followers: 0);
        await _transaction!.CommitAsync(cancellationToken);
        return (followers - cached.Followers, cached.Answered);
    }

    public static async Task<Guid?> FindByKeyAsync(NpgsqlConnection connection, string idempotencyKey, bool isBatch, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT id FROM jobs WHERE idempotency_key = @key AND is_batch = @is_batch", connection);
        command.Parameters.AddWithValue("key", idempotencyKey);
        command.Parameters.AddWithValue("is_batch", isBatch);
        return await command.ExecuteScalarAsync(cancellationToken) as Guid?;
    }

    public async ValueTask DisposeAsync()
    {
        await AbandonAsync();
        if (_transaction is not null)
        {
            await _transaction.DisposeAsync();
        }
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}
