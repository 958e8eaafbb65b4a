using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using AspireBatch.Contracts;
using AspireBatch.Data.Audit;
using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireBatch.Data.Live;

public sealed class RollbackOptions
{
    /// <summary>Where every switch of a route is announced (JSON POST); none when empty.</summary>
    public string? WebhookUrl { get; set; }
}

/// <summary>What the webhook receives for every switch, automatic or manual.</summary>
public sealed record RouteSwitchAnnouncement(string Route, Guid RouteId, string From, string To, int FromPosition, int ToPosition,
    string Reason, bool Automatic, JsonElement? Figures, DateTimeOffset Time, RouteEventKind Kind = RouteEventKind.Switch, Guid? RehearsalId = null);

public sealed record SwitchOutcome(RollbackEvent? Event, string? Problem);

/// <summary>A route target's weight, with the provider/model that identifies it across an edit.</summary>
public sealed record WeightedTarget(int Position, Guid ProviderId, string Target, int Weight);

/// <summary>
/// Moves a route's active target, records the switch with its reason and figures, announces it by webhook and to
/// the Dashboard. Used by the Worker's monitor (automatic) and the Api (an operator's hand).
/// </summary>
public sealed class RouteSwitcher(
    BatchDbContext db,
    IHttpClientFactory httpClients,
    IOptions<RollbackOptions> options,
    LivePublisher live,
    TimeProvider time,
    ILogger<RouteSwitcher> logger)
{
    public const string WebhookClient = "rollback-webhook";
    private static readonly ActivitySource Source = new("AspireBatch");

    /// <summary>Switches only if the route still has <paramref name="expectedFrom"/> active, so two deciders never both move it.</summary>
    public async Task<SwitchOutcome> SwitchAsync(Guid routeId, int expectedFrom, int to, string reason, bool automatic, object? figures, CancellationToken cancellationToken)
    {
        var route = await db.Routes.AsNoTracking().Include(r => r.Targets).ThenInclude(t => t.Provider).FirstOrDefaultAsync(r => r.Id == routeId, cancellationToken);
        if (route is null)
        {
            return new(null, "not found");
        }
        var targets = route.Targets.OrderBy(t => t.Position).ToList();
        if (to < 0 || to >= targets.Count || to == expectedFrom)
        {
            return new(null, $"the route has targets 0 to {targets.Count - 1} and target {route.ActiveTargetPosition} is active; it cannot move to {to}");
        }
        using var activity = Source.StartActivity(automatic ? "route rollback" : "route switch");
        activity?.SetTag("aspirebatch.route", route.Name);
        activity?.SetTag("aspirebatch.route.from", expectedFrom);
        activity?.SetTag("aspirebatch.route.to", to);
        activity?.SetTag("aspirebatch.route.reason", reason);

        var now = time.GetUtcNow();
        var figuresJson = figures is null ? null : JsonSerializer.Serialize(figures);
        var entry = new RollbackEvent
        {
            RouteId = routeId,
            FromPosition = expectedFrom,
            ToPosition = to,
            FromTarget = Describe(targets[expectedFrom]),
            ToTarget = Describe(targets[to]),
            Reason = reason,
            Automatic = automatic,
            Figures = figuresJson,
            CreatedAt = now,
        };
        // The move and its record commit together: nobody sees a switch without its history.
        var moved = await RecordAsync(entry, () => db.Routes.Where(r => r.Id == routeId && r.ActiveTargetPosition == expectedFrom)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.ActiveTargetPosition, to).SetProperty(r => r.SwitchedAt, now), cancellationToken), cancellationToken);
        if (!moved)
        {
            return new(null, "the route's active target changed meanwhile; reload and try again");
        }
        logger.LogWarning("Route {Route} switched from {From} to {To} ({Kind}): {Reason}", route.Name, entry.FromTarget, entry.ToTarget, automatic ? "automatic" : "manual", reason);

        await AnnounceAsync(new RouteSwitchAnnouncement(route.Name, routeId, entry.FromTarget, entry.ToTarget, expectedFrom, to, reason, automatic,
            figuresJson is null ? null : JsonDocument.Parse(figuresJson).RootElement.Clone(), now), cancellationToken);
        return new(entry, null);
    }

    /// <summary>
    /// Stops a canary: sets the target's weight to 0 only if it still has <paramref name="expectedWeight"/> (and the
    /// route was not edited meanwhile, which gives its targets new ids), so two deciders never both stop it. The stop
    /// and its record (kind CanaryStopped, from the canary to the active target) commit together; then it is announced
    /// like a switch.
    /// </summary>
    public async Task<SwitchOutcome> StopCanaryAsync(Guid routeId, Guid targetId, int expectedWeight, string reason, bool automatic, object? figures, CancellationToken cancellationToken)
    {
        var route = await db.Routes.AsNoTracking().Include(r => r.Targets).ThenInclude(t => t.Provider).FirstOrDefaultAsync(r => r.Id == routeId, cancellationToken);
        if (route is null)
        {
            return new(null, "not found");
        }
        var canary = route.Targets.FirstOrDefault(t => t.Id == targetId);
        var active = route.Targets.FirstOrDefault(t => t.Position == route.ActiveTargetPosition);
        if (canary is null || active is null || canary.Id == active.Id)
        {
            return new(null, "the target is not a canary of this route (the route changed meanwhile?)");
        }
        using var activity = Source.StartActivity(automatic ? "canary stop" : "canary stop (manual)");
        activity?.SetTag("aspirebatch.route", route.Name);
        activity?.SetTag("aspirebatch.route.canary", canary.Position);
        activity?.SetTag("aspirebatch.route.reason", reason);

        var now = time.GetUtcNow();
        var figuresJson = figures is null ? null : JsonSerializer.Serialize(figures);
        var entry = new RollbackEvent
        {
            RouteId = routeId,
            Kind = RouteEventKind.CanaryStopped,
            FromPosition = canary.Position,
            ToPosition = active.Position,
            FromTarget = Describe(canary),
            ToTarget = Describe(active),
            Reason = reason,
            Automatic = automatic,
            Figures = figuresJson,
            CreatedAt = now,
        };
        var stopped = await RecordAsync(entry, () => db.RouteTargets.Where(t => t.Id == targetId && t.RouteId == routeId && t.Weight == expectedWeight && t.Weight > 0)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Weight, 0), cancellationToken), cancellationToken, expectedWeight);
        if (!stopped)
        {
            return new(null, "the canary's weight changed meanwhile; reload and try again");
        }
        logger.LogWarning("Route {Route} stopped its canary {Canary} ({Kind}): {Reason}", route.Name, entry.FromTarget, automatic ? "automatic" : "manual", reason);
        await AnnounceAsync(new RouteSwitchAnnouncement(route.Name, routeId, entry.FromTarget, entry.ToTarget, entry.FromPosition, entry.ToPosition, reason, automatic,
            figuresJson is null ? null : JsonDocument.Parse(figuresJson).RootElement.Clone(), now, RouteEventKind.CanaryStopped), cancellationToken);
        return new(entry, null);
    }

    /// <summary>
    /// Where a canary's window starts: after the route's last switch or its last change of weights (a stop or an
    /// operator's), so a canary weighted again is judged on fresh calls, not on the ones that stopped it.
    /// </summary>
    public static async Task<DateTimeOffset?> CanaryWindowStartAsync(BatchDbContext db, Route route, CancellationToken cancellationToken)
    {
        var reweighted = await db.RollbackEvents.AsNoTracking()
            .Where(e => e.RouteId == route.Id && (e.Kind == RouteEventKind.CanaryStopped || e.Kind == RouteEventKind.Reweighted))
            .MaxAsync(e => (DateTimeOffset?)e.CreatedAt, cancellationToken);
        return (route.SwitchedAt, reweighted) switch
        {
            ({ } s, { } w) => s > w ? s : w,
            var (s, w) => s ?? w,
        };
    }

    /// <summary>
    /// The records of an operator's edit that changed weights, one per target whose weight changed (a target is known
    /// by its provider/model, wherever it moved): a canary set to 0 is a CanaryStopped, any other change Reweighted.
    /// </summary>
    public static List<RollbackEvent> WeightChanges(Guid routeId, IReadOnlyList<WeightedTarget> before, int activeBefore,
        IReadOnlyList<WeightedTarget> after, int activeAfter, DateTimeOffset now)
    {
        var events = new List<RollbackEvent>();
        var active = after.FirstOrDefault(t => t.Position == activeAfter);
        foreach (var target in after.OrderBy(t => t.Position))
        {
            var old = before.FirstOrDefault(t => t.ProviderId == target.ProviderId && t.Target == target.Target)?.Weight ?? 0;
            if (old == target.Weight)
            {
                continue;
            }
            var stopped = target.Weight == 0 && target.Position != activeAfter && active is not null;
            events.Add(new RollbackEvent
            {
                RouteId = routeId,
                Kind = stopped ? RouteEventKind.CanaryStopped : RouteEventKind.Reweighted,
                FromPosition = target.Position,
                ToPosition = stopped ? activeAfter : target.Position,
                FromTarget = target.Target,
                ToTarget = stopped ? active!.Target : target.Target,
                Reason = stopped ? $"canary stopped by an operator (weight {old} → 0)" : $"weight {old} → {target.Weight} set by an operator",
                Automatic = false,
                Figures = JsonSerializer.Serialize(new { manual = true, weightFrom = old, weightTo = target.Weight, activeBefore, activeAfter }),
                CreatedAt = now,
            });
        }
        return events;
    }

    /// <summary>
    /// Makes a route change and writes its event in one transaction, or neither: <paramref name="change"/> is a conditional
    /// update that changes nothing (returns 0) when another decider got there first.
    /// </summary>
    private Task<bool> RecordAsync(RollbackEvent entry, Func<Task<int>> change, CancellationToken cancellationToken, int? expectedWeight = null) =>
        db.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            db.ChangeTracker.Clear();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            if (await change() == 0)
            {
                return false;
            }
            db.RollbackEvents.Add(entry);
            // A person's switch is audited by the Api with its caller; the services' own decisions are audited here,
            // in the move's transaction, so neither is ever without the other.
            if (entry.Automatic)
            {
                db.AuditLog.Add(AutomaticAudit(entry, expectedWeight));
            }
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return true;
        });

    /// <summary>
    /// The audit row of a decision of the route monitor: a rollback or roll-forward moves the active target, a canary
    /// stop takes a target's weight from <paramref name="canaryWeight"/> to 0. The figures it judged on go with the after.
    /// </summary>
    internal static AuditEntry AutomaticAudit(RollbackEvent entry, int? canaryWeight)
    {
        var figures = entry.Figures is null ? null : JsonNode.Parse(entry.Figures);
        var (action, before, after) = entry.Kind == RouteEventKind.CanaryStopped
            ? ("AutomaticCanaryStop",
                (object)new { target = entry.FromTarget, position = entry.FromPosition, weight = canaryWeight },
                (object)new { target = entry.FromTarget, position = entry.FromPosition, weight = 0, reason = entry.Reason, figures })
            : (entry.ToPosition > entry.FromPosition ? "AutomaticRollback" : "AutomaticRollForward",
                new { activeTargetPosition = entry.FromPosition, activeTarget = entry.FromTarget },
                new { activeTargetPosition = entry.ToPosition, activeTarget = entry.ToTarget, reason = entry.Reason, figures });
        return AuditRecords.Create(AuditRecords.System, AuditRecords.AdminTeam, action, AuditResourceTypes.Route, entry.RouteId.ToString(), before, after, entry.CreatedAt);
    }

    /// <summary>Tells the Dashboard and the webhook of a change of a route, whoever made it (a switch, a canary stopped, an adoption).</summary>
    public async Task AnnounceAsync(RouteSwitchAnnouncement announcement, CancellationToken cancellationToken)
    {
        await live.RouteChangedAsync(announcement.RouteId);
        if (announcement.Automatic)
        {
            // Its audit row committed with it (the Api announces the rows it writes itself).
            await live.AuditChangedAsync();
        }
        if (string.IsNullOrWhiteSpace(options.Value.WebhookUrl))
        {
            return;
        }
        try
        {
            using var response = await httpClients.CreateClient(WebhookClient).PostAsJsonAsync(options.Value.WebhookUrl, announcement, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                logger.LogWarning("The rollback webhook answered {Status} for route {Route}", (int)response.StatusCode, announcement.Route);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            logger.LogWarning(e, "The rollback webhook could not be reached for route {Route}", announcement.Route);
        }
    }

    public static string Describe(RouteTarget target) => $"{target.Provider?.Name}/{target.ModelName}";
}
