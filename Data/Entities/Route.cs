namespace AspireBatch.Data.Entities;

/// <summary>Ordered targets for a job; the active one takes calls, the next ones are the fallbacks.</summary>
public sealed class Route
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public int ActiveTargetPosition { get; set; }
    public double MaxErrorRate { get; set; } = 0.05;
    public double MaxMeanLatencyMs { get; set; } = 500;
    public double MinSuccessRate { get; set; } = 0.95;
    public int WindowSeconds { get; set; } = 300;
    public int EvaluationIntervalSeconds { get; set; } = 30;
    public int MinCalls { get; set; } = 20;
    public bool AutoRollback { get; set; } = true;
    public bool AutoRollForward { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? SwitchedAt { get; set; }
    public List<RouteTarget> Targets { get; set; } = [];
}

public sealed class RouteTarget
{
    public Guid Id { get; set; }
    public Guid RouteId { get; set; }
    public int Position { get; set; }
    public Guid ProviderId { get; set; }
    public Provider? Provider { get; set; }
    public required string ModelName { get; set; }
    /// <summary>
    /// Share of the route's traffic (canary by weight): when any target at or after the active one has a weight, each
    /// record's first target is drawn by weight among them; 0 means no share (fallback only).
    /// </summary>
    public int Weight { get; set; }
    /// <summary>This target's own thresholds; null takes the route's.</summary>
    public double? MaxErrorRate { get; set; }
    public double? MaxMeanLatencyMs { get; set; }
    public double? MinSuccessRate { get; set; }
}
