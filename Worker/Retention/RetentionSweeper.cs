using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Audit;
using AspireBatch.Data.Lifecycle;
using AspireBatch.Data.Live;
using AspireBatch.Worker.Monitoring;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AspireBatch.Worker.Retention;

/// <summary>
/// Retention, applied by one worker at a time at every <see cref="RetentionOptions.SweepInterval"/>: files past their
/// <c>expires_at</c> are deleted (reads answer 404 from that moment already; this frees the space), and each team's
/// finished jobs older than its policy are purged exactly as <c>POST /api/jobs/{id}/purge</c> purges them (records
/// and answers go, the cost ledger stays). Every deletion leaves its audit row, actor "system", in the same transaction.
/// Expired response-cache entries (which imports already ignore) are deleted too, without an audit row: they are
/// copies of answers, not anyone's resource.
/// Each deletion is conditional on what it found still holding, so a second sweeper (a lock handed over mid-sweep)
/// deletes and records nothing twice.
/// </summary>
public sealed class RetentionSweeper(
    IServiceScopeFactory scopes,
    JobLifecycle lifecycle,
    LeaderLock leader,
    LivePublisher live,
    IOptions<RetentionOptions> options,
    TimeProvider time,
    ILogger<RetentionSweeper> logger) : BackgroundService
{
    public const string FileExpired = "FileExpired";
    public const string RetentionPurge = "RetentionPurge";
    private const string LockName = "retention";
    private static readonly JobState[] Settled = [JobState.Completed, JobState.Failed, JobState.Cancelled];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.SweepInterval;
        // A sweep may outlast a short interval: the lock outlives two of them, and at least half a minute.
        var hold = TimeSpan.FromTicks(Math.Max(interval.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                try
                {
                    if (await leader.HoldAsync(LockName, hold, stoppingToken))
                    {
                        await SweepAsync(stoppingToken);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError(e, "Retention sweep failed; the next one tries again");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        finally
        {
            await leader.ReleaseAsync(LockName);
        }
    }

    /// <summary>One sweep: expired files and cache entries, then the jobs teams' policies no longer keep. Returns what it deleted.</summary>
    public async Task<(int Files, int CacheEntries, int Jobs)> SweepAsync(CancellationToken cancellationToken) =>
        (await ExpireFilesAsync(cancellationToken), await DropExpiredCacheAsync(cancellationToken), await PurgeByPolicyAsync(cancellationToken));

    private async Task<int> DropExpiredCacheAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<BatchDbContext>();
        var now = time.GetUtcNow();
        // Checked again on the row itself: an entry a result write just renewed (same key, later expiry) stays.
        var dropped = await db.Database.ExecuteSqlAsync($"""
            DELETE FROM response_cache
            WHERE expires_at <= {now}
              AND key IN (SELECT key FROM response_cache WHERE expires_at <= {now} ORDER BY expires_at LIMIT {options.Value.MaxCacheEntriesPerSweep})
            """, cancellationToken);
        if (dropped > 0)
        {
            logger.LogInformation("Retention deleted {Entries} expired response-cache entries", dropped);
        }
        return dropped;
    }

    private async Task<int> ExpireFilesAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<BatchDbContext>();
        var now = time.GetUtcNow();
        // Past the query filter, which hides expired files from every read.
        var expired = await db.Files.IgnoreQueryFilters().AsNoTracking()
            .Where(f => f.DeletedAt == null && f.ExpiresAt != null && f.ExpiresAt <= now)
            .OrderBy(f => f.ExpiresAt).ThenBy(f => f.Id)
            .Take(options.Value.MaxFilesPerSweep)
            .Select(f => new { f.Id, f.Team, f.FileName, f.Purpose, f.Bytes, f.CreatedAt, ExpiresAt = f.ExpiresAt!.Value, f.JobId })
            .ToListAsync(cancellationToken);
        var deleted = 0;
        foreach (var file in expired)
        {
            // The file object as the Files API showed it, kept in the audit log.
            var before = new OpenAiFile(file.Id, file.Bytes, file.CreatedAt.ToUnixTimeSeconds(), file.FileName, file.Purpose, file.ExpiresAt.ToUnixTimeSeconds());
            var strategy = db.Database.CreateExecutionStrategy();
            var gone = await strategy.ExecuteAsync(async () =>
            {
                db.ChangeTracker.Clear();
                await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                var matching = db.Files.IgnoreQueryFilters().Where(f => f.Id == file.Id && f.DeletedAt == null && f.ExpiresAt <= now);
                // An upload goes with its bytes; a batch's output or error file (its content is the batch's records)
                // becomes a tombstone, as when it is deleted by hand, so the batch keeps naming it.
                var count = file.JobId is null
                    ? await matching.ExecuteDeleteAsync(cancellationToken)
                    : await matching.ExecuteUpdateAsync(s => s.SetProperty(f => f.DeletedAt, now), cancellationToken);
                if (count > 0)
                {
                    db.AuditLog.Add(AuditRecords.Create(AuditRecords.System, file.Team, FileExpired, AuditResourceTypes.File, file.Id, before, null, now));
                    await db.SaveChangesAsync(cancellationToken);
                }
                await transaction.CommitAsync(cancellationToken);
                return count > 0;
            });
            if (gone)
            {
                deleted++;
                logger.LogInformation("File {FileId} of team {Team} expired at {ExpiresAt:u}: deleted ({Bytes} bytes)", file.Id, file.Team, file.ExpiresAt, file.Bytes);
            }
        }
        return deleted;
    }

    private async Task<int> PurgeByPolicyAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<BatchDbContext>();
        var policies = await db.RetentionPolicies.AsNoTracking().OrderBy(p => p.Team).ToListAsync(cancellationToken);
        var budget = options.Value.MaxJobsPerSweep;
        var purged = 0;
        foreach (var policy in policies)
        {
            var cutoff = time.GetUtcNow().AddDays(-policy.PurgeFinishedJobsAfterDays);
            // What PurgeAsync accepts (settled, not a rehearsal's, not purged yet), finished before the cutoff.
            var jobs = await db.Jobs.AsNoTracking()
                .Where(j => j.Team == policy.Team && j.PurgedAt == null && j.RehearsalId == null && Settled.Contains(j.State)
                    && (j.CompletedAt ?? j.CancelledAt) < cutoff)
                .OrderBy(j => j.CompletedAt ?? j.CancelledAt).ThenBy(j => j.Id)
                .Take(budget)
                .Select(j => new RetentionJobSummary(j.Id, j.Name, j.Team, j.State, j.IsBatch, j.TotalItems, j.SucceededItems, j.FailedItems,
                    j.CancelledItems, j.CostUsd, j.CreatedAt, (j.CompletedAt ?? j.CancelledAt)!.Value))
                .ToListAsync(cancellationToken);
            foreach (var job in jobs)
            {
                budget--;
                var result = await lifecycle.PurgeAsync(job.Id, JobActor.Retention, done => AuditRecords.Create(AuditRecords.System, job.Team, RetentionPurge,
                    AuditResourceTypes.Job, job.Id.ToString(), job,
                    new RetentionPurgeReceipt(job.Id, job.Team, policy.PurgeFinishedJobsAfterDays, done.PurgedAt!.Value, done.Records, done.Bytes, done.AttemptsKept),
                    done.PurgedAt!.Value), cancellationToken);
                if (result.Outcome != PurgeOutcome.Done)
                {
                    // Reopened, purged by hand meanwhile, or a cancelled job whose last calls are still settling: the next sweep looks again.
                    logger.LogDebug("Retention left job {JobId} of team {Team}: {Outcome}", job.Id, job.Team, result.Outcome);
                    continue;
                }
                purged++;
                await live.JobChangedAsync(job.Id);
                logger.LogInformation("Retention purged job {JobId} of team {Team} (finished {FinishedAt:u}, policy {Days} days): {Records} records, {Bytes} bytes",
                    job.Id, job.Team, job.FinishedAt, policy.PurgeFinishedJobsAfterDays, result.Records, result.Bytes);
            }
            if (budget <= 0)
            {
                break;
            }
        }
        return purged;
    }
}
