using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Live;
using Entities = AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Worker.Monitoring;

/// <summary>
/// Judges each route's active target on its sliding window at the route's interval and rolls the route to its next
/// target when a threshold is crossed (after a minimum number of calls; the window restarts after a switch, so a
/// route does not flap). Runs on one worker at a time.
/// </summary>
public sealed class RouteMonitor(IServiceScopeFactory scopes, LeaderLock leader, TargetWindow window, ProviderState providers, TimeProvider time, ILogger<RouteMonitor> logger) : BackgroundService
{
    private const string LockName = "route-monitor";
    private readonly Dictionary<Guid, DateTimeOffset> _lastJudged = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    if (await leader.HoldAsync(LockName, TimeSpan.FromSeconds(10), stoppingToken))
                    {
                        await JudgeRoutesAsync(stoppingToken);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError(e, "Judging routes failed");
                }
            }
        }
        finally
        {
            // Another worker takes over at its next tick, not after the lock expires.
            await leader.ReleaseAsync(LockName);
        }
    }

    /// <summary>
    /// Automatic roll-forward (off unless a route asks for it): once a full window has passed since the last switch,
    /// and the previous target's provider answers its health check with its circuit closed, the route goes back to it.
    /// If it misbehaves again the rollback judges it on fresh figures.
    /// </summary>
    private async Task<bool> TryRollForwardAsync(IServiceProvider services, Entities.Route route, List<Entities.RouteTarget> targets, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (route.ActiveTargetPosition == 0 || route.SwitchedAt is not { } switchedAt || now - switchedAt < TimeSpan.FromSeconds(route.WindowSeconds))
        {
            return false;
        }
        var previous = targets[route.ActiveTargetPosition - 1];
        var health = await providers.ReadAsync(previous.ProviderId, previous.Provider?.Name ?? "?");
        if (health.Circuit != "closed" || health.LastCheck is not { Healthy: true } check || check.CheckedAt < switchedAt)
        {
            return false;
        }
        var outcome = await services.GetRequiredService<RouteSwitcher>().SwitchAsync(route.Id, route.ActiveTargetPosition, route.ActiveTargetPosition - 1,
            $"automatic roll-forward: {previous.Provider?.Name} is healthy again", automatic: true,
            new { healthCheckLatencyMs = check.LatencyMs, checkedAt = check.CheckedAt, sinceSwitchSeconds = (now - switchedAt).TotalSeconds }, cancellationToken);
        return outcome.Event is not null;
    }

    private async Task JudgeRoutesAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<BatchDbContext>();
        var routes = await db.Routes.AsNoTracking().Include(r => r.Targets).ThenInclude(t => t.Provider)
            .Where(r => r.AutoRollback || r.AutoRollForward).ToListAsync(cancellationToken);
        var now = time.GetUtcNow();
        foreach (var route in routes)
        {
            if (_lastJudged.TryGetValue(route.Id, out var last) && now - last < TimeSpan.FromSeconds(route.EvaluationIntervalSeconds))
            {
                continue;
            }
            _lastJudged[route.Id] = now;
            var targets = route.Targets.OrderBy(t => t.Position).ToList();
            if (route.AutoRollForward && await TryRollForwardAsync(scope.ServiceProvider, route, targets, now, cancellationToken))
            {
                continue;
            }
            if (!route.AutoRollback)
            {
                continue;
            }
            var switcher = scope.ServiceProvider.GetRequiredService<RouteSwitcher>();
            await JudgeCanariesAsync(db, switcher, route, cancellationToken);
            if (route.ActiveTargetPosition >= targets.Count - 1)
            {
                continue; // Nothing to fall back to.
            }
            var active = targets[route.ActiveTargetPosition];
            var figures = await window.ReadAsync(active.ProviderId, active.ModelName, route.WindowSeconds, route.SwitchedAt);
            var thresholds = RouteJudge.ThresholdsOf(route, active);
            if (!RouteJudge.HasEnoughCalls(figures, thresholds))
            {
                continue;
            }
            if (RouteJudge.Breach(figures, thresholds) is not { } breach)
            {
                continue;
            }
            var outcome = await switcher.SwitchAsync(route.Id, route.ActiveTargetPosition,
                route.ActiveTargetPosition + 1, $"automatic rollback: {breach}", automatic: true, Figures(figures, thresholds), cancellationToken);
            if (outcome.Event is not null)
            {
                logger.LogWarning("Route {Route} rolled back: {Breach}", route.Name, breach);
            }
        }
    }

    /// <summary>
    /// Each canary (a weighted target after the active one) on its own window against its own thresholds; a breach
    /// sets its weight to 0, so its share goes back to the other weighted targets.
    /// </summary>
    private async Task JudgeCanariesAsync(BatchDbContext db, RouteSwitcher switcher, Entities.Route route, CancellationToken cancellationToken)
    {
        var canaries = RouteJudge.Canaries(route).ToList();
        if (canaries.Count == 0)
        {
            return;
        }
        var since = await RouteSwitcher.CanaryWindowStartAsync(db, route, cancellationToken);
        foreach (var canary in canaries)
        {
            var figures = await window.ReadAsync(canary.ProviderId, canary.ModelName, route.WindowSeconds, since);
            var thresholds = RouteJudge.ThresholdsOf(route, canary);
            if (!RouteJudge.HasEnoughCalls(figures, thresholds) || RouteJudge.Breach(figures, thresholds) is not { } breach)
            {
                continue;
            }
            var outcome = await switcher.StopCanaryAsync(route.Id, canary.Id, canary.Weight, $"canary stopped: {breach}", automatic: true,
                new
                {
                    calls = figures.Calls,
                    errors = figures.Errors,
                    errorRate = figures.ErrorRate,
                    successRate = figures.SuccessRate,
                    meanLatencyMs = figures.MeanLatencyMs,
                    p95LatencyMs = figures.P95LatencyMs,
                    windowSeconds = figures.WindowSeconds,
                    thresholds,
                    weight = canary.Weight,
                    since,
                }, cancellationToken);
            if (outcome.Event is not null)
            {
                logger.LogWarning("Route {Route} stopped its canary #{Position}: {Breach}", route.Name, canary.Position, breach);
            }
        }
    }

    /// <summary>The figures stored with an automatic change and sent with its webhook.</summary>
    private static object Figures(WindowFigures figures, RouteThresholds thresholds) => new
    {
        calls = figures.Calls,
        errors = figures.Errors,
        errorRate = figures.ErrorRate,
        successRate = figures.SuccessRate,
        meanLatencyMs = figures.MeanLatencyMs,
        p95LatencyMs = figures.P95LatencyMs,
        windowSeconds = figures.WindowSeconds,
        thresholds,
    };
}
