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
