using AspireBatch.Contracts;
using AspireBatch.Data.Live;
using AspireBatch.Data;
using AspireBatch.Data.Lifecycle;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Services;

public enum CommandOutcome { Done, NotFound, Conflict, Invalid }

/// <summary><c>Field</c>: for an invalid command, the part of the request at fault.</summary>
public sealed record CommandResult(CommandOutcome Outcome, string? Message = null, int Affected = 0, int Requeued = 0, string? Field = null);

/// <summary>
/// Operator actions on a job: the transition itself is <see cref="JobLifecycle"/>'s (one statement, recorded in the
/// job's history); this says it in the Api's words and announces it. Workers see the new state within their refresh
/// interval (about a second), at once when the announcement reaches them.
/// </summary>
public sealed class JobCommands(BatchDbContext db, JobLifecycle lifecycle, CatalogService catalog, LivePublisher live)
{
    /// <summary>Sends the job's unanswered records to what <paramref name="request"/> names (resolved as an import resolves it).</summary>
    public async Task<CommandResult> MoveLeftoversAsync(Guid id, MoveLeftoversRequest request, CancellationToken cancellationToken)
    {
        if (await catalog.ResolveAsync(request.Model, cancellationToken) is not { } target)
        {
            var known = await catalog.KnownNamesAsync(cancellationToken);
            return new(CommandOutcome.Invalid, $"\"{request.Model}\" is not a known model, alias or route; known: {string.Join(", ", known)}");
        }
        var result = await lifecycle.MoveLeftoversAsync(id, new JobTarget(target.RouteId, target.ProviderId, target.ModelName, request.Model, target.Describe),
            request.IncludeFailed, request.ErrorCode, cancellationToken);
        return result.Outcome == TransitionOutcome.Conflict
            ? new(CommandOutcome.Conflict, $"a {Name(result.State)} job cannot move its records")
            : await AnnounceAsync(id, result, "moved") with { Requeued = result.Requeued };
    }

    public async Task<CommandResult> PauseAsync(Guid id, string? reason, CancellationToken cancellationToken) =>
        await AnnounceAsync(id, await lifecycle.PauseAsync(id, reason, cancellationToken), "paused");

    public async Task<CommandResult> ResumeAsync(Guid id, CancellationToken cancellationToken) =>
        await AnnounceAsync(id, await lifecycle.ResumeAsync(id, cancellationToken), "running");

    public async Task<CommandResult> CancelAsync(Guid id, CancellationToken cancellationToken) =>
        await AnnounceAsync(id, await lifecycle.CancelAsync(id, cancellationToken), "cancelled");

    public async Task<CommandResult> RetryFailedAsync(Guid id, string? errorCode, CancellationToken cancellationToken)
    {
        var result = await lifecycle.RetryFailedAsync(id, errorCode, cancellationToken);
        return result.Outcome == TransitionOutcome.Conflict
            ? new(CommandOutcome.Conflict, $"a {Name(result.State)} job cannot retry items")
            : await AnnounceAsync(id, result, "retried");
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
        await live.JobChangedAsync(id);
        return new(CommandOutcome.Done);
    }

    private async Task<CommandResult> AnnounceAsync(Guid id, TransitionResult result, string verb)
    {
        switch (result.Outcome)
        {
            case TransitionOutcome.NotFound:
                return new(CommandOutcome.NotFound);
            case TransitionOutcome.Conflict:
                return new(CommandOutcome.Conflict, $"a {Name(result.State)} job cannot be {verb}");
            default:
                await live.JobChangedAsync(id);
                return new(CommandOutcome.Done, Affected: result.Items);
        }
    }

    private static string Name(JobState? state) => state?.ToString().ToLowerInvariant() ?? "missing";
}
