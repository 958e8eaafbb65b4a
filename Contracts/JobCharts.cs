namespace AspireBatch.Contracts;

/// <summary>
/// A job's run in time buckets, computed from its attempts (the ledger), so a finished job shows its whole run.
/// Buckets are <see cref="BucketSeconds"/> wide, aligned to multiples of it since the Unix epoch, from the bucket of
/// the first call to the bucket of the last (or of <c>from</c>), empty buckets included. Counted as the usage figures
/// count: calls sent to a provider only (our own failures and open circuits send none).
/// </summary>
public sealed record JobTimeseries(Guid JobId, int BucketSeconds, IReadOnlyList<JobTimeBucket> Buckets);

/// <summary>
/// One bucket of <see cref="JobTimeseries"/>: calls that started in it. Errors are the calls that did not answer
/// usefully (any error code, in-doubt calls included); latency is over calls with a measured time (in-doubt calls have
/// none) and null when there are none. Cost is what was charged, in-doubt calls not included.
/// </summary>
public sealed record JobTimeBucket(
    DateTimeOffset Start,
    long Calls,
    long Succeeded,
    long Errors,
    double? MeanLatencyMs,
    double? P95LatencyMs,
    long InputTokens,
    long OutputTokens,
    decimal CostUsd,
    long InDoubtCalls = 0);
