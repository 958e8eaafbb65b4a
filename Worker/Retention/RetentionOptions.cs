using System.ComponentModel.DataAnnotations;

namespace AspireBatch.Worker.Retention;

/// <summary>Settings of the retention sweeper (section Worker:Retention), validated at start.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Worker:Retention";

    /// <summary>How often the sweeper deletes expired files and purges the jobs teams' policies no longer keep.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Expired files deleted per sweep at most; the rest go at the next.</summary>
    [Range(1, 100_000)]
    public int MaxFilesPerSweep { get; set; } = 1000;

    /// <summary>Expired response-cache entries deleted per sweep at most (imports already ignore them).</summary>
    [Range(1, 1_000_000)]
    public int MaxCacheEntriesPerSweep { get; set; } = 10_000;

    /// <summary>Jobs purged per sweep at most (each one transaction, as a purge by hand); the rest go at the next.</summary>
    [Range(1, 100_000)]
    public int MaxJobsPerSweep { get; set; } = 100;
}
