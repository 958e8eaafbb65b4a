using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Shared;

namespace AspireBatch.Dashboard.Tests;

public sealed class JobProgressBarTests : DashboardContext
{
    private static readonly JobCounters Running = new(2_000, 1_000, 900, 100, 0, 12_345, 6_789, 0.0123m, 12.5, 80);

    [Fact]
    public void Shows_percent_counts_rate_and_eta()
    {
        var bar = Render<JobProgressBar>(p => p.Add(c => c.State, JobState.Running).Add(c => c.Counters, Running));
        Assert.Equal("50", bar.Find("[data-testid=job-progress]").GetAttribute("data-percent"));
        Assert.Equal("50%", bar.Find("[data-testid=job-progress-percent]").TextContent.Trim());
        Assert.Contains("1,000 / 2,000", bar.Find("[data-testid=job-progress-count]").TextContent);
        Assert.Contains("12.5/s", bar.Find("[data-testid=job-progress-rate]").TextContent);
        Assert.Contains("1m 20s", bar.Find("[data-testid=job-progress-eta]").TextContent);
        Assert.NotNull(bar.Find(".mud-progress-linear"));
    }

    [Fact]
    public void Compact_bar_has_only_bar_and_percent()
    {
        var bar = Render<JobProgressBar>(p => p.Add(c => c.State, JobState.Running).Add(c => c.Counters, Running).Add(c => c.Compact, true));
        Assert.Equal("50%", bar.Find("[data-testid=job-progress-percent]").TextContent.Trim());
        Assert.Empty(bar.FindAll("[data-testid=job-progress-eta]"));
    }

    [Fact]
    public void Updates_when_new_counters_arrive()
    {
        var bar = Render<JobProgressBar>(p => p.Add(c => c.State, JobState.Running).Add(c => c.Counters, Running));
        bar.Render(p => p.Add(c => c.State, JobState.Completed).Add(c => c.Counters, Running with { Pending = 0, Succeeded = 1_900 }));
        Assert.Equal("100%", bar.Find("[data-testid=job-progress-percent]").TextContent.Trim());
        Assert.Contains("done", bar.Find("[data-testid=job-progress-eta]").TextContent);
    }
}
