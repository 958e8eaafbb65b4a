using AspireBatch.Contracts;
using AspireBatch.Data;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Services;

public enum CommandOutcome { Done, NotFound, Conflict }

public sealed record CommandResult(CommandOutcome Outcome, string? Message = null, int Affected = 0);

/// <summary>
/// Operator actions on a job. Each is one transaction that moves the job and its items together, so counters
/// stay equal to what the items say. Workers see the new state within their refresh interval (about a second).
/// </summary>
public sealed class JobCommands(BatchDbContext db, LiveEvents events, TimeProvider time)
{
    public Task<CommandResult> PauseAsync(Guid id, string? reason, CancellationToken cancellationToken) =>
        TransitionAsync(id, [JobState.Queued, JobState.Running], JobState.Paused, reason ?? "paused by an operator", cancellationToken);

    public Task<CommandResult> ResumeAsync(Guid id, CancellationToken cancellationToken) =>
        TransitionAsync(id, [JobState.Paused], JobState.Running, null, cancellationToken);

    /// <summary>
    /// Cancels at once: the job stops getting calls within a second. Its pending items are marked cancelled by the
    /// workers in batches right after (so a million-item job cancels as fast as a small one); calls in flight finish
    /// and keep their paid result.
    /// </summary>
    public async Task<CommandResult> CancelAsync(Guid id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var moved = await db.Jobs.Where(j => j.Id == id && j.State != JobState.Completed && j.State != JobState.Failed && j.State != JobState.Cancelled)
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.State, JobState.Cancelled).SetProperty(j => j.CancelledAt, now)
                .SetProperty(j => j.StateReason, "cancelled by an operator"), cancellationToken);
        if (moved == 0)
        {
            return await MissingOrConflict(id, "cancelled", cancellationToken);
        }
        await events.PublishAsync("job", id);
        return new(CommandOutcome.Done);
    }

    // Aspire's retrying execution strategy runs a transaction as one retriable unit.
    public Task<CommandResult> RetryFailedAsync(Guid id, string? errorCode, CancellationToken cancellationToken) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(() => RetryFailedOnceAsync(id, errorCode, cancellationToken));

    private async Task<CommandResult> RetryFailedOnceAsync(Guid id, string? errorCode, CancellationToken cancellationToken)
    {
        db.ChangeTracker.Clear();
        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        var job = await db.Jobs.FirstOrDefaultAsync(j => j.Id == id, cancellationToken);
        if (job is null)
        {
            return new(CommandOutcome.NotFound);
        }
        if (job.State is JobState.Cancelled or JobState.Validating)
        {
            return new(CommandOutcome.Conflict, $"a {job.State.ToString().ToLowerInvariant()} job cannot retry items");
        }
        var failed = db.Items.Where(i => i.JobId == id && i.State == ItemState.Failed);
        if (!string.IsNullOrWhiteSpace(errorCode))
        {
            failed = failed.Where(i => i.ErrorCode == errorCode);
        }
        var requeued = await failed.ExecuteUpdateAsync(s => s
            .SetProperty(i => i.State, ItemState.Pending)
            .SetProperty(i => i.ErrorCode, (string?)null)
            .SetProperty(i => i.ErrorMessage, (string?)null)
            .SetProperty(i => i.StatusCode, (int?)null)
            .SetProperty(i => i.LeaseToken, (Guid?)null)
            .SetProperty(i => i.CompletedAt, (DateTimeOffset?)null), cancellationToken);
        if (requeued > 0)
        {
            job.FailedItems -= requeued;
            if (job.State is JobState.Completed or JobState.Failed)
            {
                job.State = JobState.Running;
                job.CompletedAt = null;
                job.StateReason = $"retrying {requeued} failed item(s)";
            }
            await db.SaveChangesAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        await events.PublishAsync("job", id);
        return new(CommandOutcome.Done, Affected: requeued);
    }

    public async Task<CommandResult> UpdateSettingsAsync(Guid id, JobSettingsRequest settings, CancellationToken cancellationToken)
    {
        var updated = await db.Jobs.Where(j => j.Id == id).ExecuteUpdateAsync(s => s
            .SetProperty(j => j.RequestsPerMinuteCap, settings.RequestsPerMinuteCap)
            .SetProperty(j => j.BudgetUsd, settings.BudgetUsd), cancellationToken);
        if (updated == 0)
        {
            return new(CommandOutcome.NotFound);
        }
        await events.PublishAsync("job", id);
        return new(CommandOutcome.Done);
    }

    private async Task<CommandResult> TransitionAsync(Guid id, JobState[] from, JobState to, string? reason, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var moved = await db.Jobs.Where(j => j.Id == id && from.Contains(j.State))
            .ExecuteUpdateAsync(s => s.SetProperty(j => j.State, to).SetProperty(j => j.StateReason, reason)
                .SetProperty(j => j.StartedAt, j => to == JobState.Running ? j.StartedAt ?? now : j.StartedAt), cancellationToken);
        if (moved == 0)
        {
            return await MissingOrConflict(id, to.ToString().ToLowerInvariant(), cancellationToken);
        }
        await events.PublishAsync("job", id);
        return new(CommandOutcome.Done);
    }

    private async Task<CommandResult> MissingOrConflict(Guid id, string verb, CancellationToken cancellationToken)
    {
        var state = await db.Jobs.Where(j => j.Id == id).Select(j => (JobState?)j.State).FirstOrDefaultAsync(cancellationToken);
        return state is null
            ? new(CommandOutcome.NotFound)
            : new(CommandOutcome.Conflict, $"a {state.Value.ToString().ToLowerInvariant()} job cannot be {verb}");
    }
}
