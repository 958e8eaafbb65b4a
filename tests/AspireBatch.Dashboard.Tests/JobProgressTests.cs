using AspireBatch.Contracts;
using AspireBatch.Dashboard.Formatting;

namespace AspireBatch.Dashboard.Tests;

public sealed class JobProgressTests
{
    private static JobCounters Counters(int total, int succeeded, int failed = 0, int cancelled = 0, double rate = 0, double? eta = null) =>
        new(total, total - succeeded - failed - cancelled, succeeded, failed, cancelled, 0, 0, 0m, rate, eta);

    [Fact]
    public void Percent_counts_succeeded_failed_and_cancelled_as_done()
    {
        var progress = JobProgress.From(JobState.Running, Counters(1000, 400, 100, 50, rate: 10, eta: 45));
        Assert.Equal(55, progress.Percent);
        Assert.Equal("55%", progress.PercentText);
        Assert.Equal("550 / 1,000", progress.CountText);
    }

    [Fact]
    public void Percent_is_floored_so_100_means_everything_finished()
    {
        var almost = JobProgress.From(JobState.Running, Counters(1_000_000, 999_999, rate: 100));
        Assert.Equal("99%", almost.PercentText);
        Assert.True(almost.Percent < 100);

        var done = JobProgress.From(JobState.Completed, Counters(1_000_000, 1_000_000));
        Assert.Equal(100, done.Percent);
        Assert.Equal("100%", done.PercentText);
        Assert.Equal("done", done.EtaText);
    }

    [Fact]
    public void An_empty_job_is_at_zero() => Assert.Equal("0%", JobProgress.From(JobState.Queued, Counters(0, 0)).PercentText);

    [Fact]
    public void Eta_comes_from_the_api_when_it_has_one()
    {
        var progress = JobProgress.From(JobState.Running, Counters(10_000, 2_000, rate: 25.5, eta: 192));
        Assert.Equal("3m 12s", progress.EtaText);
        Assert.Equal("25.5/s", progress.RateText);
        Assert.True(progress.Active);
    }

    [Fact]
    public void Eta_falls_back_to_the_rate()
    {
        var progress = JobProgress.From(JobState.Running, Counters(1_000, 400, rate: 10, eta: null));
        Assert.Equal("1m 00s", progress.EtaText);
    }

    [Fact]
    public void Eta_is_unknown_without_a_rate() => Assert.Equal("—", JobProgress.From(JobState.Running, Counters(1_000, 0)).EtaText);

    [Theory]
    [InlineData(JobState.Paused, "paused", false)]
    [InlineData(JobState.Cancelled, "cancelled", false)]
    [InlineData(JobState.Failed, "failed", false)]
    [InlineData(JobState.Queued, "waiting", true)]
    public void Stopped_or_waiting_jobs_say_so_instead_of_an_eta(JobState state, string eta, bool active)
    {
        var progress = JobProgress.From(state, Counters(100, 10, rate: 5, eta: 18));
        Assert.Equal(eta, progress.EtaText);
        Assert.Equal(active, progress.Active);
        Assert.Equal("—", progress.RateText);
    }
}
