using AspireBatch.Contracts;

namespace AspireBatch.Dashboard.Formatting;

/// <summary>
/// The job page's charts: the Api's time series of the job's calls (from the ledger), loaded when the page opens and
/// extended while the job runs by asking for the last bucket and what came after it.
/// </summary>
public sealed class JobSeries
{
    private List<JobTimeBucket> _buckets = [];

    /// <summary>More buckets than this and the page asks for the whole series again, in the wider buckets the Api then chooses.</summary>
    public const int MaxBuckets = 300;

    public int BucketSeconds { get; private set; }

    public IReadOnlyList<JobTimeBucket> Buckets => _buckets;

    public bool Loaded { get; private set; }

    /// <summary>Goes up with every change, so the charts rebuild only when there is something new.</summary>
    public int Version { get; private set; }

    /// <summary>Where the next update starts: the last bucket, which may still be filling.</summary>
    public DateTimeOffset? ResumeFrom => _buckets.Count == 0 ? null : _buckets[^1].Start;

    /// <summary>Whether the next fetch should be a whole series rather than an update.</summary>
    public bool NeedsReload => !Loaded || _buckets.Count == 0 || _buckets.Count > MaxBuckets;

    public void Load(JobTimeseries series)
    {
        BucketSeconds = series.BucketSeconds;
        _buckets = [.. series.Buckets.OrderBy(b => b.Start)];
        Loaded = true;
        Version++;
    }

    /// <summary>
    /// Takes an update that starts at <see cref="ResumeFrom"/> or later: its buckets replace those with the same start
    /// (the last one, still filling) and the rest are appended. An update in other buckets replaces everything.
    /// </summary>
    public void Merge(JobTimeseries update)
    {
        if (!Loaded || update.BucketSeconds != BucketSeconds)
        {
            Load(update);
            return;
        }
        if (update.Buckets.Count == 0)
        {
            return;
        }
        var first = update.Buckets.Min(b => b.Start);
        _buckets.RemoveAll(b => b.Start >= first);
        _buckets.AddRange(update.Buckets.OrderBy(b => b.Start));
        Version++;
    }
}
