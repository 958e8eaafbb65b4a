using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Pages.Jobs;
using AspireBatch.Dashboard.Components.Pages.Jobs.Components;
using AspireBatch.Dashboard.Formatting;
using MudBlazor;

namespace AspireBatch.Dashboard.Tests;

/// <summary>The job page's charts come from the Api's time series: the whole run on open, then the last bucket onwards.</summary>
public sealed class JobChartsTests : DashboardContext
{
    private static readonly Guid JobId = Guid.Parse("019a4b2e-7c15-7d3a-9f42-6b1e8c0d5a37");
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 9, 14, 0, TimeSpan.Zero);

    private static JobTimeBucket Bucket(int second, long calls, long errors, decimal cost = 0.001m) =>
        new(T0.AddSeconds(second), calls, calls - errors, errors, 400, 900, calls * 50, calls * 2, cost);

    [Fact]
    public void Merging_replaces_the_last_bucket_and_appends_the_new_ones()
    {
        var series = new JobSeries();
        Assert.True(series.NeedsReload);
        series.Load(new JobTimeseries(JobId, 1, [Bucket(0, 10, 1), Bucket(1, 12, 0), Bucket(2, 3, 0)]));
        Assert.False(series.NeedsReload);
        Assert.Equal(T0.AddSeconds(2), series.ResumeFrom);

        var version = series.Version;
        series.Merge(new JobTimeseries(JobId, 1, [Bucket(2, 11, 2), Bucket(3, 9, 0)]));
        Assert.Equal([10L, 12, 11, 9], series.Buckets.Select(b => b.Calls));
        Assert.True(series.Version > version);

        // Nothing new: nothing changes.
        version = series.Version;
        series.Merge(new JobTimeseries(JobId, 1, []));
        Assert.Equal(version, series.Version);

        // Buckets of another width replace the series.
        series.Merge(new JobTimeseries(JobId, 5, [Bucket(0, 45, 3)]));
        Assert.Equal((5, 1), (series.BucketSeconds, series.Buckets.Count));
    }

    [Fact]
    public void A_series_that_outgrew_its_buckets_asks_for_a_reload()
    {
        var series = new JobSeries();
        series.Load(new JobTimeseries(JobId, 1, Enumerable.Range(0, JobSeries.MaxBuckets + 1).Select(i => Bucket(i, 1, 0)).ToList()));
        Assert.True(series.NeedsReload);
    }

    [Fact]
    public void The_charts_show_every_bucket_of_the_series()
    {
        var series = new JobSeries();
        var charts = Render<JobCharts>(p => p.Add(c => c.Series, series));
        Assert.NotNull(charts.Find("[data-testid=charts-loading]"));

        series.Load(new JobTimeseries(JobId, 1, []));
        charts.Render(p => p.Add(c => c.Series, series));
        Assert.Contains("No calls yet", charts.Find("[data-testid=charts-empty]").TextContent);

        series.Load(new JobTimeseries(JobId, 60, [Bucket(0, 600, 6, 0.25m), Bucket(60, 540, 0, 0.25m)]));
        charts.Render(p => p.Add(c => c.Series, series));
        var grid = charts.Find("[data-testid=job-charts]");
        Assert.Equal(("2", "60", "1140"), (grid.GetAttribute("data-buckets"), grid.GetAttribute("data-bucket-seconds"), grid.GetAttribute("data-calls")));
        Assert.Contains("1 min", charts.Find("[data-testid=charts-caption]").TextContent);
        Assert.Contains("$0.50", charts.Find("[data-testid=charts-caption]").TextContent);
        Assert.DoesNotContain("this page is open", charts.Markup);
    }

    [Fact]
    public async Task The_job_page_loads_the_whole_run_on_open_and_extends_it_on_live_events()
    {
        var job = Job(JobState.Running);
        var api = new StubApi()
            .Answer($"/api/jobs/{JobId}", _ => job)
            .Answer($"/api/jobs/{JobId}/items", _ => new PagedResult<ItemSummaryDto>([], 1, 25, 0))
            .Answer($"/api/jobs/{JobId}/timeseries", request => request.RequestUri!.Query.Contains("from=")
                ? new JobTimeseries(JobId, 1, [Bucket(2, 11, 2), Bucket(3, 9, 0)])
                : new JobTimeseries(JobId, 1, [Bucket(0, 10, 1), Bucket(1, 12, 0), Bucket(2, 3, 0)]))
            .Use(Services);

        Render<MudPopoverProvider>();
        var page = Render<JobDetail>(p => p.Add(d => d.Id, JobId));
        page.WaitForAssertion(() => Assert.Equal("25", page.Find("[data-testid=job-charts]").GetAttribute("data-calls")));
        var opened = Assert.Single(api.Requests, r => r.AbsolutePath.EndsWith("/timeseries", StringComparison.Ordinal));
        Assert.Equal("", opened.Query);

        // Calls go on: the next reload asks for the last bucket onwards, in the same buckets, and extends the charts.
        job = Job(JobState.Running, succeeded: 30);
        await api.Live.PublishAsync(new LiveEvent("job", JobId, null, DateTimeOffset.UtcNow));
        page.WaitForAssertion(() => Assert.Equal(("4", "42"),
            (page.Find("[data-testid=job-charts]").GetAttribute("data-buckets"), page.Find("[data-testid=job-charts]").GetAttribute("data-calls"))));
        var extended = api.Requests.Last(r => r.AbsolutePath.EndsWith("/timeseries", StringComparison.Ordinal));
        Assert.Contains("bucketSeconds=1", extended.Query);
        Assert.Contains("from=" + Uri.EscapeDataString(T0.AddSeconds(2).ToString("O")), extended.Query);
    }

    private static JobDto Job(JobState state, int succeeded = 20) => new(
        JobId, "reviews", state, null, JobInputFormat.Jsonl, "deepseek-chat", null, "sim-primary", "deepseek-chat", null, null, null, "Classify: {{text}}",
        new JobCounters(100, 100 - succeeded, succeeded, 0, 0, 0, 0, 0m, 1, null), new JobEstimate(100, 1000, 1000, 0.01m, "deepseek-chat"),
        null, null, null, false, T0, T0, null);
}
