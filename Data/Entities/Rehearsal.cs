using AspireBatch.Contracts;

namespace AspireBatch.Data.Entities;

/// <summary>
/// A trial of a move before making it: the same sample of a source job's records runs on 2 to 5 targets, each as a
/// child job with its own ledger, and the answers are compared with the baseline's.
/// </summary>
public sealed class Rehearsal
{
    public Guid Id { get; set; }
    public string? Name { get; set; }
    public Guid SourceJobId { get; set; }
    public SampleStrategy SampleStrategy { get; set; }
    public int SampleSize { get; set; }
    public int Seed { get; set; }
    public string? StratifyField { get; set; }
    /// <summary>Records the sample holds (the source may have fewer than asked).</summary>
    public int SampledItems { get; set; }
    public JudgeKind Judge { get; set; }
    /// <summary>For <see cref="JudgeKind.JsonFields"/>: the fields compared, comma-separated (dotted paths).</summary>
    public string? JudgeFields { get; set; }
    /// <summary>For <see cref="JudgeKind.Label"/>: the regex whose first match (group 1 if any) is the label; null takes the first line.</summary>
    public string? JudgePattern { get; set; }
    /// <summary>The most the whole rehearsal may spend, split evenly across its targets' jobs.</summary>
    public decimal? BudgetUsd { get; set; }
    /// <summary>The records a month the operator expects, for the monthly cost.</summary>
    public long? MonthlyRecords { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? CancelledAt { get; set; }
    public List<RehearsalTarget> Targets { get; set; } = [];
}

/// <summary>One target of a rehearsal and the job that ran the sample on it.</summary>
public sealed class RehearsalTarget
{
    public Guid Id { get; set; }
    public Guid RehearsalId { get; set; }
    public int Position { get; set; }
    public required string Label { get; set; }
    /// <summary>What the operator named: a route, or a provider's model.</summary>
    public Guid? RouteId { get; set; }
    public Guid? ProviderId { get; set; }
    public string? ModelName { get; set; }
    public bool IsBaseline { get; set; }
    public Guid JobId { get; set; }
}
