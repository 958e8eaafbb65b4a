namespace AspireBatch.Contracts;

/// <summary>
/// Calls, tokens and cost over a period, as the overview and cost pages show them. Calls are those sent to a provider
/// (our own failures and open circuits send none); in-doubt calls were lost with their worker and may have been
/// charged up to <see cref="InDoubtCostUsd"/>, which is not in <see cref="CostUsd"/>.
/// </summary>
public sealed record UsageSummary(long Calls, long Failures, long InputTokens, long OutputTokens, decimal CostUsd, double MeanLatencyMs, double P95LatencyMs,
    long InDoubtCalls = 0, decimal InDoubtCostUsd = 0, decimal EstimatedUsageCostUsd = 0);

public sealed record UsageByKey(string Key, UsageSummary Usage);

public sealed record UsageByDay(DateOnly Day, string Key, UsageSummary Usage);

public sealed record OverviewDto(
    IReadOnlyList<JobDto> RunningJobs,
    UsageSummary LastHour,
    UsageSummary LastDay,
    IReadOnlyList<RollbackEventDto> RecentRollbacks);

/// <summary>Measured comparison of two provider/model targets, the playbook's ROI table made real.</summary>
public sealed record ProviderComparison(
    string Before,
    string After,
    UsageSummary BeforeUsage,
    UsageSummary AfterUsage,
    decimal BeforeCostPerCall,
    decimal AfterCostPerCall,
    decimal MonthlyBeforeUsd,
    decimal MonthlyAfterUsd,
    double CostChange,
    double LatencyChange,
    long MonthlyCalls);

/// <summary>
/// Pushed on the Redis channel "aspirebatch:events" (by AspireBatch.Data.Live.LivePublisher, the one publisher)
/// when a job, a route, a provider, the catalog or the audit log changes.
/// </summary>
public sealed record LiveEvent(string Kind, Guid? JobId, Guid? RouteId, DateTimeOffset At)
{
    public const string Channel = "aspirebatch:events";
    public const string Job = "job";
    public const string Route = "route";
    public const string Provider = "provider";
    public const string Catalog = "catalog";
    /// <summary>A row was added to the audit log.</summary>
    public const string Audit = "audit";
}
