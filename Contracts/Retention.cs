namespace AspireBatch.Contracts;

/// <summary>
/// A job whose records and answers retention deleted: when, how many records and how many bytes of row data (heap and
/// TOAST; indexes not counted). The job's counters, history and attempts (its cost ledger) are kept.
/// </summary>
public sealed record JobPurgeDto(DateTimeOffset At, int Records, long Bytes);

/// <summary>
/// What <c>POST /api/jobs/{id}/purge</c> freed: the records deleted and their row data, and the attempts kept as the
/// job's cost ledger. Postgres reuses the space after (auto)vacuum; the files shrink only with VACUUM FULL or pg_repack.
/// </summary>
public sealed record JobPurged(JobDto Job, int RecordsDeleted, long BytesFreed, int AttemptsKept);

/// <summary>
/// A team's retention policy: the Worker purges each of the team's finished jobs (as <c>POST /api/jobs/{id}/purge</c>
/// does: records and answers go, the cost ledger stays) once it finished more than this many days ago.
/// </summary>
public sealed record RetentionPolicyDto(string Team, int PurgeFinishedJobsAfterDays, DateTimeOffset UpdatedAt);

/// <summary>The body of <c>PUT /api/retention/policies/{team}</c>: 1 day or more.</summary>
public sealed record RetentionPolicyRequest(int PurgeFinishedJobsAfterDays);

/// <summary>A job as the audit log keeps it before a retention purge: what it was, whose, and when it finished.</summary>
public sealed record RetentionJobSummary(Guid Id, string? Name, string Team, JobState State, bool IsBatch, int TotalItems, int SucceededItems,
    int FailedItems, int CancelledItems, decimal CostUsd, DateTimeOffset CreatedAt, DateTimeOffset FinishedAt);

/// <summary>
/// The deletion receipt a retention purge leaves in the audit log: which policy, when, the records and row bytes
/// deleted, and the attempts kept as the job's cost ledger.
/// </summary>
public sealed record RetentionPurgeReceipt(Guid JobId, string Team, int PolicyDays, DateTimeOffset PurgedAt, int RecordsDeleted, long BytesFreed, int AttemptsKept);
