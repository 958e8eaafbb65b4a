namespace AspireBatch.Contracts;

/// <summary>A target of a rehearsal: a route by name, or a provider's model. Exactly one target is the baseline.</summary>
public sealed record RehearsalTargetRequest(string? Route = null, string? Provider = null, string? Model = null, bool Baseline = false);

/// <summary>Which records of the source run: <c>Size</c> of them, picked by <c>Strategy</c> (Stratified needs <c>Field</c>).</summary>
public sealed record SampleRequest(int Size, SampleStrategy Strategy = SampleStrategy.Random, int Seed = 1, string? Field = null);

/// <summary>How answers are compared: <c>Fields</c> for JsonFields (dotted paths), <c>Pattern</c> for Label (a regex; else the first line).</summary>
public sealed record JudgeRequest(JudgeKind Kind = JudgeKind.Normalized, IReadOnlyList<string>? Fields = null, string? Pattern = null);

/// <summary>
/// <c>POST /api/rehearsals</c>: the same sample of <c>SourceJobId</c>'s records on every target. (An upload goes to
/// <c>POST /api/rehearsals/upload</c>, whose file becomes a paused source job.)
/// </summary>
public sealed record RehearsalRequest(
    Guid? SourceJobId,
    SampleRequest Sample,
    IReadOnlyList<RehearsalTargetRequest> Targets,
    JudgeRequest? Judge = null,
    decimal? BudgetUsd = null,
    long? MonthlyRecords = null,
    string? Name = null);

/// <summary>A rehearsal's state, derived from its jobs: running while any runs, paused while any is paused (by its budget share or an operator), then completed.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<RehearsalState>))]
public enum RehearsalState { Running, Paused, Completed, Cancelled }

public sealed record RehearsalSummaryDto(
    Guid Id, string? Name, RehearsalState State, Guid SourceJobId, int SampledItems, int Targets, string Baseline,
    decimal CostUsd, DateTimeOffset CreatedAt);

/// <summary>What one target did with the sample, from its job's ledger.</summary>
public sealed record RehearsalTargetReport(
    int Position,
    string Label,
    bool IsBaseline,
    Guid JobId,
    JobState JobState,
    string? JobStateReason,
    int Records,
    int Succeeded,
    int Failed,
    int Unfinished,
    double SuccessRate,
    double MeanLatencyMs,
    double P95LatencyMs,
    long InputTokens,
    long OutputTokens,
    decimal CostUsd,
    decimal? CostPer1kRecords,
    decimal? ProjectedSourceCostUsd,
    decimal? MonthlyCostUsd,
    /// <summary>Share of the records both this target and the baseline answered on which they agree; null for the baseline or with no judge.</summary>
    double? AgreementWithBaseline,
    int Compared,
    /// <summary>Latency histogram of answered records: upper bound in ms and count.</summary>
    IReadOnlyList<LatencyBin> LatencyHistogram);

public sealed record LatencyBin(int UpToMs, int Count);

/// <summary>Labels of the baseline (rows) against a candidate's (columns), over the records both answered.</summary>
public sealed record ConfusionMatrix(int Position, IReadOnlyList<string> Labels, IReadOnlyList<IReadOnlyList<int>> Counts);

public sealed record RehearsalDto(
    Guid Id,
    string? Name,
    RehearsalState State,
    Guid SourceJobId,
    int SourceRecords,
    SampleRequest Sample,
    int SampledItems,
    JudgeRequest Judge,
    decimal? BudgetUsd,
    long? MonthlyRecords,
    IReadOnlyList<RehearsalTargetReport> Targets,
    /// <summary>Agreement of every pair of targets (by position): [i][j], null where none were compared or without a judge.</summary>
    IReadOnlyList<IReadOnlyList<double?>> Pairwise,
    IReadOnlyList<ConfusionMatrix> ConfusionMatrices,
    int Disagreements,
    IReadOnlyList<RouteAdoptionDto> Adoptions,
    DateTimeOffset CreatedAt,
    DateTimeOffset? CancelledAt);

/// <summary>One record on every target, side by side.</summary>
public sealed record RehearsalRecordDto(string CustomId, int LineNumber, IReadOnlyList<RehearsalAnswer> Answers);

/// <summary><c>Agrees</c>: with the baseline, null for the baseline itself, an unanswered side or no judge.</summary>
public sealed record RehearsalAnswer(int Position, ItemState State, string? Text, string? Label, string? ErrorCode, int? LatencyMs, decimal? CostUsd, bool? Agrees);

/// <summary>Thresholds for the route after adoption, proposed from what the rehearsal measured (editable before confirming).</summary>
public sealed record AdoptionProposal(int Candidate, string CandidateLabel, string? Route, string? CurrentTarget, RouteThresholds Thresholds, IReadOnlyList<string> Why);

/// <summary>
/// <c>POST /api/rehearsals/{id}/adopt</c>: the candidate becomes the route's primary with the current target as its
/// fallback and rollback armed. <c>Route</c> names the route to change or create; it may be left out when the baseline is a route.
/// With <c>CanaryWeight</c> (1-99) the candidate starts as a canary instead: the current target stays primary with the
/// rest of the traffic, the candidate right after it takes that share, judged on its own window (a breach sets it to 0).
/// </summary>
public sealed record AdoptRequest(int Candidate, string? Route = null, RouteThresholds? Thresholds = null, string? Reason = null, int? CanaryWeight = null);

/// <summary>An adoption as the route's history recorded it.</summary>
public sealed record RouteAdoptionDto(long EventId, Guid RouteId, string Route, string From, string To, string Reason, DateTimeOffset At);
