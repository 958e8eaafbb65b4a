using AspireBatch.Contracts;
using AspireBatch.Data;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AspireBatch.Api.Services;

/// <summary>What <see cref="JobTimeseriesQueries.GetAsync"/> found: no job, a bucket size refused (and why), or the series.</summary>
public sealed record JobTimeseriesOutcome(bool JobFound, JobTimeseries? Series = null, string? BucketError = null);

/// <summary>
/// A job's calls in time buckets, computed in Postgres with <c>date_bin</c> over its attempts (index
/// <c>attempts (job_id, started_at)</c>), counting the attempts the usage figures count (<see cref="UsageQueries.SentOnly"/>).
/// </summary>
public sealed class JobTimeseriesQueries(NpgsqlDataSource dataSource, BatchDbContext db)
{
    /// <summary>The most buckets a default bucket size gives: enough for a chart, few enough to send every few seconds.</summary>
    public const int DefaultMaxBuckets = 200;

    /// <summary>The most buckets one answer may hold when the caller chooses the size.</summary>
    public const int MaxBuckets = 5000;

    public const int MaxBucketSeconds = 7 * 86_400;

    // Sizes a reader can count in; beyond a day, whole days.
    private static readonly int[] NiceSeconds = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400];

    /// <summary>The smallest readable bucket that cuts <paramref name="span"/> into at most <see cref="DefaultMaxBuckets"/> buckets.</summary>
    public static int DefaultBucketSeconds(TimeSpan span)
    {
        // Aligned buckets can add one at the end: n buckets cover n - 1 widths of the span.
        var needed = Math.Max(1, (long)Math.Ceiling(span.TotalSeconds / (DefaultMaxBuckets - 1)));
        foreach (var seconds in NiceSeconds)
        {
            if (seconds >= needed)
            {
                return seconds;
            }
        }
        return (int)Math.Min(MaxBucketSeconds, (needed + 86_399) / 86_400 * 86_400);
    }

    /// <summary>The start of the bucket holding <paramref name="at"/>: buckets are aligned to multiples of their size since the epoch.</summary>
    public static DateTimeOffset BucketStart(DateTimeOffset at, int bucketSeconds)
    {
        var seconds = at.ToUnixTimeSeconds();
        return DateTimeOffset.FromUnixTimeSeconds(seconds - seconds % bucketSeconds);
    }

    /// <summary>
    /// The job's buckets from its first call (or from the bucket holding <paramref name="from"/>) to its last call;
    /// <paramref name="bucketSeconds"/> null chooses <see cref="DefaultBucketSeconds"/> from the time between its first and last call.
    /// </summary>
    public async Task<JobTimeseriesOutcome> GetAsync(Guid jobId, int? bucketSeconds, DateTimeOffset? from, CancellationToken cancellationToken)
    {
        if (!await db.Jobs.AnyAsync(j => j.Id == jobId, cancellationToken))
        {
            return new(JobFound: false);
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var (first, last) = await SpanAsync(connection, jobId, cancellationToken);
        var size = bucketSeconds ?? DefaultBucketSeconds(last - first ?? TimeSpan.Zero);
        if (first is not { } firstCall || last is not { } lastCall)
        {
            return new(true, new JobTimeseries(jobId, size, []));
        }
        var since = from is { } f && f > firstCall ? f : firstCall;
        var start = BucketStart(since, size);
        var end = BucketStart(lastCall, size);
        var count = end < start ? 0 : (long)(end - start).TotalSeconds / size + 1;
        if (count > MaxBuckets)
        {
            var smallest = (long)Math.Ceiling((lastCall - since).TotalSeconds / (MaxBuckets - 1));
            return new(true, BucketError: $"{size} s buckets make {count} buckets here; at most {MaxBuckets} (bucketSeconds {smallest} or more)");
        }

        var found = await BucketsAsync(connection, jobId, size, start, cancellationToken);
        // Every bucket from the first to the last, so a pause shows as a gap of zeros rather than as time that never passed.
        var buckets = new List<JobTimeBucket>((int)count);
        for (var at = start; at <= end; at = at.AddSeconds(size))
        {
            buckets.Add(found.GetValueOrDefault(at) ?? new JobTimeBucket(at, 0, 0, 0, null, null, 0, 0, 0m));
        }
        return new(true, new JobTimeseries(jobId, size, buckets));
    }

    private static async Task<(DateTimeOffset? First, DateTimeOffset? Last)> SpanAsync(NpgsqlConnection connection, Guid jobId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"""
            SELECT min(started_at), max(started_at) FROM attempts WHERE job_id = @job AND {UsageQueries.SentOnly}
            """, connection);
        command.Parameters.AddWithValue("job", jobId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return reader.IsDBNull(0) ? (null, null) : (reader.GetFieldValue<DateTimeOffset>(0), reader.GetFieldValue<DateTimeOffset>(1));
    }

    private static async Task<Dictionary<DateTimeOffset, JobTimeBucket>> BucketsAsync(
        NpgsqlConnection connection, Guid jobId, int bucketSeconds, DateTimeOffset from, CancellationToken cancellationToken)
    {
        // An in-doubt call (the worker was lost during it) has no measured latency: it counts as a call and an error, not in the latency.
        await using var command = new NpgsqlCommand($"""
            SELECT date_bin(@bucket, started_at, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
                   count(*)::bigint,
                   count(*) FILTER (WHERE error_code IS NULL)::bigint,
                   (avg(latency_ms) FILTER (WHERE error_code IS DISTINCT FROM '{LedgerCodes.Unknown}'))::float8,
                   (percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE error_code IS DISTINCT FROM '{LedgerCodes.Unknown}'))::float8,
                   coalesce(sum(input_tokens), 0)::bigint,
                   coalesce(sum(output_tokens), 0)::bigint,
                   coalesce(sum(cost_usd), 0)::numeric,
                   count(*) FILTER (WHERE error_code = '{LedgerCodes.Unknown}')::bigint
            FROM attempts
            WHERE job_id = @job AND started_at >= @from AND {UsageQueries.SentOnly}
            GROUP BY 1 ORDER BY 1
            """, connection);
        command.Parameters.AddWithValue("bucket", TimeSpan.FromSeconds(bucketSeconds));
        command.Parameters.AddWithValue("job", jobId);
        command.Parameters.AddWithValue("from", from);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var buckets = new Dictionary<DateTimeOffset, JobTimeBucket>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var start = reader.GetFieldValue<DateTimeOffset>(0);
            var calls = reader.GetInt64(1);
            var succeeded = reader.GetInt64(2);
            buckets[start] = new JobTimeBucket(start, calls, succeeded, calls - succeeded,
                reader.IsDBNull(3) ? null : reader.GetDouble(3), reader.IsDBNull(4) ? null : reader.GetDouble(4),
                reader.GetInt64(5), reader.GetInt64(6), reader.GetDecimal(7), reader.GetInt64(8));
        }
        return buckets;
    }
}
