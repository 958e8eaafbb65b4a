using System.Text.Json.Serialization;

namespace AspireBatch.Contracts;

/// <summary>A route's target; the thresholds are its own overrides (null: the route's).</summary>
public sealed record RouteTargetDto(int Position, Guid ProviderId, string ProviderName, string ModelName,
    int Weight = 0, double? MaxErrorRate = null, double? MaxMeanLatencyMs = null, double? MinSuccessRate = null);

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

/// <summary>
/// A target of a route. <c>Weight</c> (0..1000, default 0) is its share of the route's traffic: when a target at or
/// after the active one has a weight, each record's first target is drawn by weight. The thresholds override the
/// route's for this target (null: the route's).
/// </summary>
public sealed record RouteTargetRequest(string Provider, string Model, int? Weight = null,
    double? MaxErrorRate = null, double? MaxMeanLatencyMs = null, double? MinSuccessRate = null);

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
    DateTimeOffset CreatedAt,
    RouteEventKind Kind = RouteEventKind.Switch);

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

/// <summary>What a target is to its route now.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RouteTargetRole>))]
public enum RouteTargetRole
{
    /// <summary>The active target: first in every chain (or drawn by its weight), judged for rollback.</summary>
    Active,
    /// <summary>After the active one with a weight: takes its share of first calls, judged on its own and stopped on a breach.</summary>
    Canary,
    /// <summary>After the active one without a weight: takes calls only as a fallback.</summary>
    Fallback,
    /// <summary>Before the active one: takes no calls until the route rolls forward.</summary>
    Earlier,
}

/// <summary>
/// One target's sliding-window figures beside its effective thresholds (its own, else the route's), and its share of
/// all the calls the route's targets took in their windows.
/// </summary>
public sealed record RouteTargetWindowDto(
    int Position,
    string ProviderName,
    string ModelName,
    int Weight,
    RouteTargetRole Role,
    long Calls,
    long Errors,
    double ErrorRate,
    double SuccessRate,
    double MeanLatencyMs,
    double P95LatencyMs,
    double Share,
    RouteThresholds Thresholds,
    DateTimeOffset? Since,
    bool Judged,
    string? Breach);

/// <summary>Every target's live figures; <c>Weighted</c> when a target at or after the active one has a weight.</summary>
public sealed record RouteTargetsWindowDto(
    Guid RouteId,
    int ActiveTargetPosition,
    bool Weighted,
    int WindowSeconds,
    long TotalCalls,
    IReadOnlyList<RouteTargetWindowDto> Targets);
