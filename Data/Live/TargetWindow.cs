using System.Globalization;
using StackExchange.Redis;

namespace AspireBatch.Data.Live;

/// <summary>A target's calls over the evaluation window, as every worker fed them.</summary>
public sealed record WindowFigures(long Calls, long Errors, double MeanLatencyMs, double P95LatencyMs, int WindowSeconds)
{
    public double ErrorRate => Calls == 0 ? 0 : (double)Errors / Calls;
    // From the counts, not 1 - ErrorRate: 93 of 100 must be exactly 0.93 (1 - 0.07 is 0.9299999999999999 < 0.93).
    public double SuccessRate => Calls == 0 ? 1 : (double)(Calls - Errors) / Calls;
}

/// <summary>
/// A time-bucketed sliding window per provider/model target kept in Redis (10 s buckets), so every worker feeds
/// the same figures and any service can read them. Latencies go into fixed histogram bins for a p95.
/// </summary>
public sealed class TargetWindow(IConnectionMultiplexer redis, TimeProvider time)
{
    public const int BucketSeconds = 10;
    private static readonly int[] BinUpperMs = [50, 100, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000, int.MaxValue];

    private static string Key(Guid providerId, string model, long bucket) => $"aspirebatch:window:{providerId:N}:{model}:{bucket}";

    /// <summary>Adds a call to the window; <paramref name="alsoInBatch"/> lets a caller send its own commands in the same round trip.</summary>
    public async Task RecordAsync(Guid providerId, string model, bool success, int latencyMs, Func<IBatch, Task>? alsoInBatch = null)
    {
        var bucket = time.GetUtcNow().ToUnixTimeSeconds() / BucketSeconds;
        var key = Key(providerId, model, bucket);
        var bin = BinOf(latencyMs);
        var batch = redis.GetDatabase().CreateBatch();
        var tasks = new List<Task>
        {
            alsoInBatch?.Invoke(batch) ?? Task.CompletedTask,
            batch.HashIncrementAsync(key, "calls"),
            batch.HashIncrementAsync(key, "errors", success ? 0 : 1),
            batch.HashIncrementAsync(key, "latency", latencyMs),
            batch.HashIncrementAsync(key, $"bin{bin}"),
            batch.KeyExpireAsync(key, TimeSpan.FromHours(2)),
        };
        batch.Execute();
        await Task.WhenAll(tasks);
    }

    public async Task<WindowFigures> ReadAsync(Guid providerId, string model, int windowSeconds, DateTimeOffset? since = null)
    {
        var (first, now) = Buckets(time.GetUtcNow(), windowSeconds, since);
        var database = redis.GetDatabase();
        long calls = 0, errors = 0, latency = 0;
        var bins = new long[BinUpperMs.Length];
        for (var bucket = first; bucket <= now; bucket++)
        {
            foreach (var entry in await database.HashGetAllAsync(Key(providerId, model, bucket)))
            {
                var value = (long)entry.Value;
                switch (entry.Name.ToString())
                {
                    case "calls": calls += value; break;
                    case "errors": errors += value; break;
                    case "latency": latency += value; break;
                    case var name when name.StartsWith("bin", StringComparison.Ordinal):
                        bins[int.Parse(name[3..], CultureInfo.InvariantCulture)] += value;
                        break;
                }
            }
        }
        return new WindowFigures(calls, errors, calls == 0 ? 0 : (double)latency / calls, Percentile(bins, calls, 0.95), windowSeconds);
    }

    /// <summary>The histogram bin of a latency: the first whose upper bound (inclusive) it does not exceed.</summary>
    internal static int BinOf(int latencyMs) => Array.FindIndex(BinUpperMs, upper => latencyMs <= upper);

    /// <summary>
    /// The buckets a read covers, both ends included: the last <paramref name="windowSeconds"/> (at least one
    /// bucket, the current one included), and after a switch only the buckets that start after it.
    /// </summary>
    internal static (long First, long Last) Buckets(DateTimeOffset now, int windowSeconds, DateTimeOffset? since)
    {
        var last = now.ToUnixTimeSeconds() / BucketSeconds;
        var first = last - Math.Max(1, windowSeconds / BucketSeconds) + 1;
        if (since is { } start)
        {
            // After a switch the window starts again, so old figures cannot judge the new state.
            first = Math.Max(first, start.ToUnixTimeSeconds() / BucketSeconds + 1);
        }
        return (first, last);
    }

    /// <summary>
    /// The <paramref name="quantile"/> of <paramref name="total"/> calls from the histogram: the upper bound of the
    /// bin holding the call of that rank (the last bounded one for the open-ended bin); 0 without calls.
    /// </summary>
    internal static double Percentile(long[] bins, long total, double quantile)
    {
        if (total == 0)
        {
            return 0;
        }
        var rank = (long)Math.Ceiling(total * quantile);
        long seen = 0;
        for (var i = 0; i < bins.Length; i++)
        {
            seen += bins[i];
            if (seen >= rank)
            {
                return BinUpperMs[i] == int.MaxValue ? BinUpperMs[i - 1] : BinUpperMs[i];
            }
        }
        return BinUpperMs[^2];
    }
}
