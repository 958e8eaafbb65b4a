using System.Globalization;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Entities;
using Route = AspireBatch.Data.Entities.Route;
using AspireBatch.Data.Live;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Services.Rehearsals;

/// <summary>
/// What an operator does with a rehearsal: cancel it (its jobs through the job lifecycle), or adopt a candidate (the
/// route's primary becomes the candidate, the target it replaces its first fallback, rollback armed), recorded in the
/// route's history with the rehearsal and announced like every route change.
/// </summary>
public sealed class RehearsalCommands(BatchDbContext db, RehearsalReports reports, JobCommands jobs, RouteSwitcher switcher, TimeProvider time)
{
    public async Task<CommandResult> CancelAsync(Guid id, CancellationToken cancellationToken)
    {
        if (await reports.FindAsync(id, cancellationToken) is not var (rehearsal, children))
        {
            return new(CommandOutcome.NotFound);
        }
        if (rehearsal.CancelledAt is not null)
        {
            return new(CommandOutcome.Conflict, "the rehearsal is cancelled already");
        }
        if (RehearsalReports.StateOf(rehearsal, children) == RehearsalState.Completed)
        {
            return new(CommandOutcome.Conflict, "the rehearsal has finished; there is nothing to cancel");
        }
        await db.Rehearsals.Where(r => r.Id == id && r.CancelledAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.CancelledAt, time.GetUtcNow()), cancellationToken);
        var cancelled = 0;
        foreach (var job in children.Where(j => j.State is JobState.Queued or JobState.Running or JobState.Paused))
        {
            if ((await jobs.CancelAsync(job.Id, cancellationToken)).Outcome == CommandOutcome.Done)
            {
                cancelled++;
            }
        }
        return new(CommandOutcome.Done, Affected: cancelled);
    }

    public async Task<(CommandResult Result, RouteAdoptionDto? Adoption)> AdoptAsync(Guid id, AdoptRequest request, CancellationToken cancellationToken)
    {
        if (await reports.FindAsync(id, cancellationToken) is not var (rehearsal, children))
        {
            return (new(CommandOutcome.NotFound), null);
        }
        switch (RehearsalReports.StateOf(rehearsal, children))
        {
            case RehearsalState.Running:
                return (new(CommandOutcome.Conflict, "only a finished rehearsal can be adopted: its figures are not final yet"), null);
            case RehearsalState.Paused:
                return (new(CommandOutcome.Conflict, "a job of this rehearsal is paused (its budget share ran out, or an operator paused it): resume it, or raise its budget, to finish the comparison"), null);
            case RehearsalState.Cancelled:
                return (new(CommandOutcome.Conflict, "a cancelled rehearsal's figures cover only part of its sample; rehearse again to adopt"), null);
        }
        var (proposal, problem) = await reports.ProposeAsync(id, request.Candidate, request.Route, cancellationToken);
        if (proposal is null)
        {
            return (new(CommandOutcome.Invalid, problem, Field: "candidate"), null);
        }
        var candidate = rehearsal.Targets[request.Candidate];
        var baseline = rehearsal.Targets.First(t => t.IsBaseline);
        if (candidate.IsBaseline)
        {
            return (new(CommandOutcome.Invalid, "the baseline is what the route runs now; adopt one of the candidates", Field: "candidate"), null);
        }
        if (candidate.ProviderId is not { } candidateProvider || candidate.ModelName is null)
        {
            return (new(CommandOutcome.Invalid, "a route's target is a provider's model; a route cannot be adopted into another route", Field: "candidate"), null);
        }
        if (string.IsNullOrWhiteSpace(proposal.Route))
        {
            return (new(CommandOutcome.Invalid, "name the route the candidate goes into (the baseline is not a route)", Field: "route"), null);
        }
        var thresholds = request.Thresholds ?? proposal.Thresholds;
        if (RouteJudge.Invalid(thresholds) is { } invalid)
        {
            return (new(CommandOutcome.Invalid, invalid, Field: "thresholds"), null);
        }
        if (request.CanaryWeight is < 1 or > 99)
        {
            return (new(CommandOutcome.Invalid, "a canary takes 1 to 99 % of the route's records", Field: "canaryWeight"), null);
        }
        thresholds = thresholds with { AutoRollback = true };

        var report = (await reports.GetAsync(id, cancellationToken))!;
        var now = time.GetUtcNow();
        var strategy = db.Database.CreateExecutionStrategy();
        var (route, entry) = await strategy.ExecuteAsync(async () =>
        {
            db.ChangeTracker.Clear();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var route = await db.Routes.Include(r => r.Targets).ThenInclude(t => t.Provider).FirstOrDefaultAsync(r => r.Name == proposal.Route, cancellationToken);
            var previous = route?.Targets.OrderBy(t => t.Position).ToList() ?? [];
            var active = previous.FirstOrDefault(t => t.Position == route!.ActiveTargetPosition);
            // The candidate first; then what ran until now, so a rollback lands where the route was; then the rest in
            // order. As a canary the two swap: what ran stays primary with most of the traffic, the candidate takes its share.
            var current = active is not null ? (active.ProviderId, active.ModelName)
                : baseline.ProviderId is { } baselineProvider && baseline.ModelName is not null ? (baselineProvider, baseline.ModelName)
                : ((Guid, string)?)null;
            var order = new List<(Guid Provider, string Model)>();
            if (request.CanaryWeight is not null && current is { } primary)
            {
                order.Add(primary);
            }
            order.Add((candidateProvider, candidate.ModelName));
            if (current is { } fallback)
            {
                order.Add(fallback);
            }
            order.AddRange(previous.Where(t => t.Position > (route?.ActiveTargetPosition ?? 0)).Concat(previous.Where(t => t.Position < (route?.ActiveTargetPosition ?? 0)))
                .Select(t => (t.ProviderId, t.ModelName)));
            order = order.Distinct().ToList();
            var fromPosition = route?.ActiveTargetPosition ?? 0;
            var fromTarget = active is null ? "(new route)" : $"{active.Provider?.Name}/{active.ModelName}";
            if (route is null)
            {
                route = new Route { Id = Guid.CreateVersion7(), Name = proposal.Route, CreatedAt = now };
                db.Routes.Add(route);
            }
            else
            {
                // Deleted first, in their own save: the new targets take the same (route, position) keys.
                db.RouteTargets.RemoveRange(route.Targets);
                await db.SaveChangesAsync(cancellationToken);
            }
            route.Targets = order.Select((t, position) => new RouteTarget
            {
                Id = Guid.CreateVersion7(), RouteId = route.Id, Position = position, ProviderId = t.Provider, ModelName = t.Model,
                Weight = request.CanaryWeight is { } share && current is not null ? position switch { 0 => 100 - share, 1 => share, _ => 0 } : 0,
            }).ToList();
            db.RouteTargets.AddRange(route.Targets);
            route.ActiveTargetPosition = 0;
            route.SwitchedAt = now;
            RouteJudge.Apply(route, thresholds);
            var measured = report.Targets[request.Candidate];
            var reference = report.Targets.First(t => t.IsBaseline);
            var entry = new RollbackEvent
            {
                RouteId = route.Id,
                FromPosition = fromPosition,
                ToPosition = order.IndexOf((candidateProvider, candidate.ModelName)),
                FromTarget = fromTarget,
                ToTarget = candidate.Label,
                Kind = RouteEventKind.Adopted,
                RehearsalId = id,
                Automatic = false,
                Reason = (string.IsNullOrWhiteSpace(request.Reason) ? DefaultReason(rehearsal, measured, reference) : request.Reason)
                    + (request.CanaryWeight is { } canary && current is not null ? $" (as a canary taking {canary} % of the records)" : ""),
                Figures = JsonSerializer.Serialize(new { candidate = Figures(measured), baseline = Figures(reference), thresholds }),
                CreatedAt = now,
            };
            db.RollbackEvents.Add(entry);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return (route, entry);
        });
        await switcher.AnnounceAsync(new RouteSwitchAnnouncement(route.Name, route.Id, entry.FromTarget, entry.ToTarget, entry.FromPosition, entry.ToPosition, entry.Reason,
            false, JsonDocument.Parse(entry.Figures!).RootElement.Clone(), now, RouteEventKind.Adopted, id), cancellationToken);
        return (new(CommandOutcome.Done), new RouteAdoptionDto(entry.Id, route.Id, route.Name, entry.FromTarget, entry.ToTarget, entry.Reason, entry.CreatedAt));
    }

    private static object Figures(RehearsalTargetReport t) => new
    {
        target = t.Label, records = t.Records, successRate = t.SuccessRate, meanLatencyMs = t.MeanLatencyMs, p95LatencyMs = t.P95LatencyMs,
        costPer1kRecords = t.CostPer1kRecords, agreementWithBaseline = t.AgreementWithBaseline,
    };

    private static string DefaultReason(Rehearsal rehearsal, RehearsalTargetReport candidate, RehearsalTargetReport baseline)
    {
        var c = CultureInfo.InvariantCulture;
        var agreement = candidate.AgreementWithBaseline is { } a ? string.Format(c, ", {0:P1} agreement", a) : "";
        return string.Format(c, "adopted from rehearsal {0}: ${1:0.####} per 1k records against ${2:0.####}{3}, p95 {4:0} ms",
            rehearsal.Name ?? rehearsal.Id.ToString("N")[..8], candidate.CostPer1kRecords ?? 0, baseline.CostPer1kRecords ?? 0, agreement, candidate.P95LatencyMs);
    }
}
