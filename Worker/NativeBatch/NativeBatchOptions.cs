using System.ComponentModel.DataAnnotations;

namespace AspireBatch.Worker.NativeBatch;

/// <summary>Settings of provider-native batches (section Worker:NativeBatch).</summary>
public sealed class NativeBatchOptions
{
    public const string Section = "Worker:NativeBatch";

    /// <summary>Lines per provider batch (OpenAI's limit is 50,000).</summary>
    [Range(1, 50_000)]
    public int MaxLines { get; set; } = 50_000;

    /// <summary>Bytes of one input file (OpenAI's limit is 200 MB).</summary>
    [Range(1_000, 512L * 1024 * 1024)]
    public long MaxBytes { get; set; } = 200L * 1000 * 1000;

    /// <summary>How often a worker looks for records to pack and batches to drive.</summary>
    [Range(50, 60_000)]
    public int TickMilliseconds { get; set; } = 1000;

    /// <summary>The first wait between polls of a provider batch; it doubles up to <see cref="MaxPollSeconds"/>.</summary>
    [Range(50, 600_000)]
    public int FirstPollMilliseconds { get; set; } = 1000;

    [Range(1, 3600)]
    public int MaxPollSeconds { get; set; } = 60;

    /// <summary>
    /// Auto mode: the time kept before a job's deadline to finish in real time. Past deadline minus this, open batches
    /// are cancelled (their answered lines kept) and what is left runs in real time; before it, records go to batches.
    /// </summary>
    [Range(1, 7 * 24 * 3600)]
    public int RealtimeReserveSeconds { get; set; } = 600;

    /// <summary>Results written per transaction while a batch's output is read.</summary>
    [Range(1, 50_000)]
    public int WriteBatchSize { get; set; } = 1000;

    /// <summary>Batches a worker drives at once (each under its own advisory lock).</summary>
    [Range(1, 100)]
    public int MaxConcurrentBatches { get; set; } = 4;

    /// <summary>
    /// For fault tests only: a pause after each stored stage (and after the first chunk of results), so a test can
    /// kill a worker at a known stage. 0 in production.
    /// </summary>
    [Range(0, 60_000)]
    public int StageHoldMilliseconds { get; set; }
}
