using AspireBatch.Contracts;
using Npgsql;
using NpgsqlTypes;

namespace AspireBatch.Data.Lifecycle;

/// <summary>
/// Every change of a provider batch's stage, each stored before the Worker takes the next step: a worker that dies
/// resumes from the stored stage, so no file goes into a second batch and no batch is created twice. Each transition
/// names the stage it leaves and moves nothing when the row is no longer there (repeating it after a crash is harmless).
/// Its records' transitions (taken in, given back, answered) are <see cref="ItemLifecycle"/>'s.
/// </summary>
public sealed class ProviderBatchLifecycle(NpgsqlDataSource dataSource)
{
    /// <summary>The input file is at the provider. Records trimmed off before the upload are already given back.</summary>
    public Task<bool> UploadedAsync(Guid id, string fileId, int lineCount, long bytes, CancellationToken cancellationToken) =>
        MoveAsync(id, ProviderBatchState.Packing, ProviderBatchState.Uploaded,
            "remote_input_file_id = @file, line_count = @lines, bytes = @bytes", cancellationToken,
            ("file", fileId), ("lines", lineCount), ("bytes", bytes));

    /// <summary>The provider's batch exists (created now, or found by our metadata after a crash).</summary>
    public Task<bool> SubmittedAsync(Guid id, string remoteBatchId, string? status, DateTimeOffset nextPollAt, CancellationToken cancellationToken) =>
        MoveAsync(id, ProviderBatchState.Uploaded, ProviderBatchState.Submitted,
            "remote_batch_id = @remote, remote_status = @status, submitted_at = now(), next_poll_at = @next", cancellationToken,
            ("remote", remoteBatchId), ("status", (object?)status ?? DBNull.Value), ("next", nextPollAt));

    /// <summary>A poll that found the batch still running: its status and counts, and when to look again.</summary>
    public Task<bool> PolledAsync(Guid id, string status, int completed, int failed, DateTimeOffset nextPollAt, CancellationToken cancellationToken) =>
        MoveAsync(id, ProviderBatchState.Submitted, ProviderBatchState.Submitted,
            "remote_status = @status, completed_lines = @completed, failed_lines = @failed, polls = polls + 1, next_poll_at = @next", cancellationToken,
            ("status", status), ("completed", completed), ("failed", failed), ("next", nextPollAt));

    /// <summary>The provider's batch ended: its files, to be read and written next.</summary>
    public Task<bool> EndedAsync(Guid id, string status, int completed, int failed, string? outputFileId, string? errorFileId, string? error,
        CancellationToken cancellationToken) =>
        MoveAsync(id, ProviderBatchState.Submitted, ProviderBatchState.Ended,
            """
            remote_status = @status, completed_lines = @completed, failed_lines = @failed, remote_output_file_id = @output,
            remote_error_file_id = @errors, error = coalesce(@error, error), ended_at = now(), polls = polls + 1, next_poll_at = NULL
            """, cancellationToken,
            ("status", status), ("completed", completed), ("failed", failed), ("output", (object?)outputFileId ?? DBNull.Value),
            ("errors", (object?)errorFileId ?? DBNull.Value), ("error", (object?)error ?? DBNull.Value));

    /// <summary>
    /// A batch that never reached the provider's batches (stopped while packing or uploaded, or refused at upload or
    /// create): nothing to read, its records go back to the queue next.
    /// </summary>
    public Task<bool> EndedUnsentAsync(Guid id, ProviderBatchState from, string reason, CancellationToken cancellationToken) =>
        MoveAsync(id, from, ProviderBatchState.Ended, "error = @error, ended_at = now(), next_poll_at = NULL", cancellationToken, ("error", reason));

    /// <summary>Every result written and the rest given back.</summary>
    public Task<bool> DoneAsync(Guid id, int released, CancellationToken cancellationToken) =>
        MoveAsync(id, ProviderBatchState.Ended, ProviderBatchState.Done, "released_lines = @released, done_at = now()", cancellationToken,
            ("released", released));

    /// <summary>The provider took our cancel; polling goes on until the batch says cancelled.</summary>
    public Task<bool> CancelSentAsync(Guid id, CancellationToken cancellationToken) =>
        MoveAsync(id, ProviderBatchState.Submitted, ProviderBatchState.Submitted, "cancel_sent_at = now(), next_poll_at = now()", cancellationToken);

    /// <summary>A step failed on the provider's side or ours: it is tried again at <paramref name="retryAt"/>, with the error kept.</summary>
    public async Task DeferAsync(Guid id, string error, DateTimeOffset retryAt, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE provider_batches SET error = @error, next_poll_at = @next, updated_at = now() WHERE id = @id AND state <> @done
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("error", error.Length > 2000 ? error[..2000] : error);
        command.Parameters.AddWithValue("next", retryAt);
        command.Parameters.AddWithValue("done", (int)ProviderBatchState.Done);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Asks the open batches of jobs that must stop to stop: paused or cancelled jobs (the cancel reaches the provider),
    /// and auto jobs whose deadline is less than <paramref name="realtimeReserve"/> away (what the batch has not answered
    /// runs in real time instead). Asked once per batch. Returns the batches asked.
    /// </summary>
    public async Task<int> RequestCancelsAsync(TimeSpan realtimeReserve, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE provider_batches b SET cancel_requested_at = now(), next_poll_at = now(), updated_at = now(),
                cancel_reason = CASE WHEN j.state = @paused THEN 'the job was paused'
                                     WHEN j.state = @cancelled THEN 'the job was cancelled'
                                     ELSE 'the deadline is near: what is left runs in real time' END
            FROM jobs j
            WHERE j.id = b.job_id AND b.state < @ended AND b.cancel_requested_at IS NULL
              AND (j.state IN (@paused, @cancelled) OR (j.mode = @auto AND j.deadline IS NOT NULL AND j.deadline - make_interval(secs => @reserve) <= now()))
            """);
        command.Parameters.AddWithValue("paused", (int)JobState.Paused);
        command.Parameters.AddWithValue("cancelled", (int)JobState.Cancelled);
        command.Parameters.AddWithValue("auto", (int)JobMode.Auto);
        command.Parameters.AddWithValue("ended", (int)ProviderBatchState.Ended);
        command.Parameters.AddWithValue("reserve", realtimeReserve.TotalSeconds);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<bool> MoveAsync(Guid id, ProviderBatchState from, ProviderBatchState to, string set, CancellationToken cancellationToken,
        params (string Name, object Value)[] parameters)
    {
        await using var command = dataSource.CreateCommand($"""
            UPDATE provider_batches SET state = @to, updated_at = now(), {set} WHERE id = @id AND state = @from
            """);
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("from", (int)from);
        command.Parameters.AddWithValue("to", (int)to);
        foreach (var (name, value) in parameters)
        {
            if (value is DBNull)
            {
                command.Parameters.AddWithValue(name, NpgsqlDbType.Text, value);
            }
            else
            {
                command.Parameters.AddWithValue(name, value);
            }
        }
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}
