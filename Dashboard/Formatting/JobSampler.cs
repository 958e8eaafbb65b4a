using AspireBatch.Contracts;

namespace AspireBatch.Dashboard.Formatting;

/// <summary>One point of a job's live charts, computed from two successive readings of its counters.</summary>
public sealed record JobSample(DateTimeOffset At, double ItemsPerSecond, double FailuresPerMinute, double? MeanLatencyMs, double? P95LatencyMs);

/// <summary>
/// Builds throughput, failure and latency series in the browser session from successive polls or pushed updates:
/// the Api keeps counters, not history, and this is enough to watch a job run.
/// </summary>
public sealed class JobSampler(int capacity = 120)
{
    private readonly List<JobSample> _samples = [];
    private (DateTimeOffset At, int Done, int Failed)? _last;
    private (double Mean, double P95)? _latency;

    /// <summary>Readings closer than this are merged into the next one, so bursts of events do not make spiky charts.</summary>
    public TimeSpan MinInterval { get; init; } = TimeSpan.FromSeconds(1);

    public IReadOnlyList<JobSample> Samples => _samples;

    public void SetLatency(double mean, double p95) => _latency = (mean, p95);

    /// <summary>Adds a reading; returns true when it made a new point.</summary>
    public bool Add(DateTimeOffset at, JobCounters counters)
    {
        if (_last is not { } last)
        {
            _last = (at, counters.Done, counters.Failed);
            return false;
        }
        var seconds = (at - last.At).TotalSeconds;
        if (seconds < MinInterval.TotalSeconds)
        {
            return false;
        }
        if (counters.Done < last.Done)
        {
            // Failed items were requeued: start again from here rather than show a negative rate.
            _last = (at, counters.Done, counters.Failed);
            return false;
        }
        var throughput = (counters.Done - last.Done) / seconds;
        var failures = Math.Max(0, counters.Failed - last.Failed) / seconds * 60;
        _samples.Add(new JobSample(at, throughput, failures, _latency?.Mean, _latency?.P95));
        if (_samples.Count > capacity)
        {
            _samples.RemoveAt(0);
        }
        _last = (at, counters.Done, counters.Failed);
        return true;
    }
}
