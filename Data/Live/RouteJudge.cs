using System.Globalization;
using AspireBatch.Contracts;
using AspireBatch.Data.Entities;

namespace AspireBatch.Data.Live;

/// <summary>Reads a target's window against a route's thresholds (the playbook's: error rate > 5 %, mean latency > 500 ms, success rate < 95 %).</summary>
public static class RouteJudge
{
    /// <summary>The route's thresholds.</summary>
    public static RouteThresholds ThresholdsOf(Route r) =>
        new(r.MaxErrorRate, r.MaxMeanLatencyMs, r.MinSuccessRate, r.WindowSeconds, r.EvaluationIntervalSeconds, r.MinCalls, r.AutoRollback, r.AutoRollForward);

    /// <summary>Sets a route's thresholds: the one place that writes them (route edits and adoptions).</summary>
    public static void Apply(Route route, RouteThresholds t)
    {
        route.MaxErrorRate = t.MaxErrorRate;
        route.MaxMeanLatencyMs = t.MaxMeanLatencyMs;
        route.MinSuccessRate = t.MinSuccessRate;
        route.WindowSeconds = t.WindowSeconds;
        route.EvaluationIntervalSeconds = t.EvaluationIntervalSeconds;
        route.MinCalls = t.MinCalls;
        route.AutoRollback = t.AutoRollback;
        route.AutoRollForward = t.AutoRollForward;
    }

    /// <summary>A target's effective thresholds: its own where it has them, the route's for the rest (window, interval, MinCalls always the route's).</summary>
    public static RouteThresholds ThresholdsOf(Route route, RouteTarget target) => ThresholdsOf(route) with
    {
        MaxErrorRate = target.MaxErrorRate ?? route.MaxErrorRate,
        MaxMeanLatencyMs = target.MaxMeanLatencyMs ?? route.MaxMeanLatencyMs,
        MinSuccessRate = target.MinSuccessRate ?? route.MinSuccessRate,
    };

    /// <summary>
    /// The canaries the monitor judges: targets after the active one with a weight (those before it take no calls, the
    /// active one is judged for rollback).
    /// </summary>
    public static IEnumerable<RouteTarget> Canaries(Route route) =>
        route.Targets.Where(t => t.Weight > 0 && t.Position > route.ActiveTargetPosition).OrderBy(t => t.Position);

    /// <summary>Whether records are drawn by weight: a target at or after the active one has a weight.</summary>
    public static bool IsWeighted(Route route) => route.Targets.Any(t => t.Weight > 0 && t.Position >= route.ActiveTargetPosition);

    /// <summary>What a target is to its route now.</summary>
    public static RouteTargetRole RoleOf(Route route, RouteTarget target) =>
        target.Position == route.ActiveTargetPosition ? RouteTargetRole.Active
        : target.Position < route.ActiveTargetPosition ? RouteTargetRole.Earlier
        : target.Weight > 0 ? RouteTargetRole.Canary
        : RouteTargetRole.Fallback;

    /// <summary>Whether the window holds enough calls to be judged at all (at least the route's MinCalls).</summary>
    public static bool HasEnoughCalls(WindowFigures figures, RouteThresholds thresholds) => figures.Calls >= thresholds.MinCalls;

    /// <summary>The first threshold crossed, in words, or null when the target is within all of them (each comparison strict).</summary>
    public static string? Breach(WindowFigures figures, RouteThresholds thresholds)
    {
        if (figures.Calls == 0)
        {
            return null;
        }
        var c = CultureInfo.InvariantCulture;
        if (figures.ErrorRate > thresholds.MaxErrorRate)
        {
            return string.Format(c, "error rate {0:P1} > {1:P1}", figures.ErrorRate, thresholds.MaxErrorRate);
        }
        if (figures.MeanLatencyMs > thresholds.MaxMeanLatencyMs)
        {
            return string.Format(c, "mean latency {0:0} ms > {1:0} ms", figures.MeanLatencyMs, thresholds.MaxMeanLatencyMs);
        }
        if (figures.SuccessRate < thresholds.MinSuccessRate)
        {
            return string.Format(c, "success rate {0:P1} < {1:P1}", figures.SuccessRate, thresholds.MinSuccessRate);
        }
        return null;
    }

    /// <summary>Why thresholds cannot be used, or null: the one check for every place that sets a route's thresholds.</summary>
    public static string? Invalid(RouteThresholds t) =>
        t.MaxErrorRate is < 0 or > 1 || t.MinSuccessRate is < 0 or > 1 || t.MaxMeanLatencyMs <= 0 || t.WindowSeconds < 10 || t.EvaluationIntervalSeconds < 1 || t.MinCalls < 1
            ? "rates are 0..1, latency positive, window >= 10 s, interval >= 1 s, minCalls >= 1"
            : null;
}
