using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Live;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Worker.Monitoring;

/// <summary>
/// Judges each route's active target on its sliding window at the route's interval and rolls the route to its next
/// target when a threshold is crossed (after a minimum number of calls; the window restarts after a switch, so a
/// route does not flap). Runs on one worker at a time.
/// </summary>
public sealed class RouteMonitor(IServiceScopeFactory scopes, LeaderLock leader, TargetWindow window, TimeProvider time, ILogger<RouteMonitor> logger) : BackgroundService
{
    private readonly Dictionary<Guid, DateTimeOffset> _lastJudged = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                if (await leader.HoldAsync("route-monitor", TimeSpan.FromSeconds(10)))
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

    private async Task JudgeRoutesAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<BatchDbContext>();
        var routes = await db.Routes.AsNoTracking().Include(r => r.Targets).Where(r => r.AutoRollback).ToListAsync(cancellationToken);
        var now = time.GetUtcNow();
        foreach (var route in routes)
        {
            if (_lastJudged.TryGetValue(route.Id, out var last) && now - last < TimeSpan.FromSeconds(route.EvaluationIntervalSeconds))
            {
                continue;
            }
            _lastJudged[route.Id] = now;
            var targets = route.Targets.OrderBy(t => t.Position).ToList();
            if (route.ActiveTargetPosition >= targets.Count - 1)
            {
                continue; // Nothing to fall back to.
            }
            var active = targets[route.ActiveTargetPosition];
            var figures = await window.ReadAsync(active.ProviderId, active.ModelName, route.WindowSeconds, route.SwitchedAt);
            if (figures.Calls < route.MinCalls)
            {
                continue;
            }
            var thresholds = new RouteThresholds(route.MaxErrorRate, route.MaxMeanLatencyMs, route.MinSuccessRate, route.WindowSeconds,
                route.EvaluationIntervalSeconds, route.MinCalls, route.AutoRollback, route.AutoRollForward);
            if (RouteJudge.Breach(figures, thresholds) is not { } breach)
            {
                continue;
            }
            var outcome = await scope.ServiceProvider.GetRequiredService<RouteSwitcher>().SwitchAsync(route.Id, route.ActiveTargetPosition,
                route.ActiveTargetPosition + 1, $"automatic rollback: {breach}", automatic: true,
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
                }, cancellationToken);
            if (outcome.Event is not null)
            {
                logger.LogWarning("Route {Route} rolled back: {Breach}", route.Name, breach);
            }
        }
    }
}
