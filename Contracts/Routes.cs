namespace AspireBatch.Contracts;

public sealed record RouteTargetDto(int Position, Guid ProviderId, string ProviderName, string ModelName);

public sealed record RouteThresholds(
    double MaxErrorRate = 0.05,
    double MaxMeanLatencyMs = 500,
    double MinSuccessRate = 0.95,
    int WindowSeconds = 300,
    int EvaluationIntervalSeconds = 30,
    int MinCalls = 20,
    bool AutoRollback = true,
    bool AutoRollForward = false);

public sealed record RouteDto(
    Guid Id,
    string Name,
    int ActiveTargetPosition,
    IReadOnlyList<RouteTargetDto> Targets,
    RouteThresholds Thresholds,
    DateTimeOffset CreatedAt,
    DateTimeOffset? SwitchedAt);

public sealed record RouteTargetRequest(string Provider, string Model);

public sealed record RouteRequest(string Name, IReadOnlyList<RouteTargetRequest> Targets, RouteThresholds? Thresholds = null);

/// <summary>An operator's switch of a route: to the next target (rollback) or the previous one (roll forward).</summary>
public sealed record RouteSwitchRequest(string Reason, int? ToPosition = null);

public sealed record RollbackEventDto(
    long Id,
    Guid RouteId,
    string RouteName,
    int FromPosition,
    int ToPosition,
    string FromTarget,
    string ToTarget,
    string Reason,
    bool Automatic,
    string? Figures,
    DateTimeOffset CreatedAt);

/// <summary>The active target's sliding-window figures beside the route's thresholds.</summary>
public sealed record RouteWindowDto(
    Guid RouteId,
    string ActiveTarget,
    long Calls,
    long Errors,
    double ErrorRate,
    double SuccessRate,
    double MeanLatencyMs,
    double P95LatencyMs,
    int WindowSeconds,
    RouteThresholds Thresholds,
    bool Judged,
    string? Breach);
