using AspireBatch.Contracts;

namespace AspireBatch.Dashboard.Formatting;

/// <summary>What a progress bar shows for a job: percent, counts, rate and time left.</summary>
public sealed record JobProgress(double Percent, string PercentText, string CountText, string RateText, string EtaText, bool Active)
{
    public static JobProgress From(JobState state, JobCounters counters)
    {
        var done = counters.Done;
        var total = counters.Total;
        // Floor, so the bar only reads 100% when every item is finished.
        var percent = total <= 0 ? 0 : Math.Clamp(Math.Floor((double)done * 1000 / total) / 10, 0, 100);
        var percentText = $"{Math.Floor(percent):0}%";
        var countText = $"{Format.Number(done)} / {Format.Number(total)}";
        var active = state is JobState.Running or JobState.Queued;
        var rate = state == JobState.Running ? Format.Rate(counters.ItemsPerSecond) : "—";
        var eta = state switch
        {
            JobState.Completed => "done",
            JobState.Cancelled => "cancelled",
            JobState.Failed => "failed",
            JobState.Paused => "paused",
            JobState.Queued => "waiting",
            _ when total > 0 && done >= total => "finishing",
            _ => Eta(counters),
        };
        return new JobProgress(percent, percentText, countText, rate, eta, active);
    }

    public static JobProgress From(JobDto job) => From(job.State, job.Counters);

    private static string Eta(JobCounters counters)
    {
        if (counters.EtaSeconds is { } seconds && double.IsFinite(seconds) && seconds >= 0)
        {
            return Format.Duration(seconds);
        }
        var left = counters.Total - counters.Done;
        return counters.ItemsPerSecond > 0 && left > 0 ? Format.Duration(left / counters.ItemsPerSecond) : "—";
    }
}
