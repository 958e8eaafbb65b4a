namespace AspireBatch.Contracts;

/// <summary>Calls, tokens and cost over a period, as the overview and cost pages show them.</summary>
public sealed record UsageSummary(long Calls, long Failures, long InputTokens, long OutputTokens, decimal CostUsd, double MeanLatencyMs, double P95LatencyMs);

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

/// <summary>Pushed on the Redis channel "aspirebatch:events" when a job, a route or a provider changes.</summary>
public sealed record LiveEvent(string Kind, Guid? JobId, Guid? RouteId, DateTimeOffset At)
{
    public const string Channel = "aspirebatch:events";
}
