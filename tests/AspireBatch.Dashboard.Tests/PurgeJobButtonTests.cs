using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Pages.Jobs.Components;
using MudBlazor;

namespace AspireBatch.Dashboard.Tests;

/// <summary>The job page's retention button: only on a finished job, asks first, purges through the Api, then shows what was purged.</summary>
public sealed class PurgeJobButtonTests : DashboardContext
{
    private static readonly Guid JobId = Guid.Parse("019a4b2e-7c15-7d3a-9f42-6b1e8c0d5a37");
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 9, 14, 0, TimeSpan.Zero);

    [Fact]
    public void A_finished_job_is_purged_after_confirmation()
    {
        var purged = Job(JobState.Completed) with { Purged = new JobPurgeDto(T0.AddDays(1), 100, 90_000) };
        var api = new StubApi().Answer($"/api/jobs/{JobId}/purge", _ => new JobPurged(purged, 100, 90_000, 104)).Use(Services);
        var provider = Render<MudDialogProvider>();
        JobDto? reported = null;
        var button = Render<PurgeJobButton>(p => p.Add(c => c.Job, Job(JobState.Completed)).Add(c => c.Purged, j => reported = j));

        button.Find("[data-testid=purge-button]").Click();
        Assert.Contains("cannot be undone", provider.Find("[data-testid=confirm-message]").TextContent);
        Assert.DoesNotContain(api.Requests, r => r.AbsolutePath.EndsWith("/purge", StringComparison.Ordinal));
        provider.Find("[data-testid=confirm-yes]").Click();

        button.WaitForAssertion(() => Assert.Equal(purged, reported));
        Assert.Single(api.Requests, r => r.AbsolutePath == $"/api/jobs/{JobId}/purge");
    }

    [Fact]
    public void Cancelling_the_confirmation_purges_nothing()
    {
        var api = new StubApi().Use(Services);
        var provider = Render<MudDialogProvider>();
        var button = Render<PurgeJobButton>(p => p.Add(c => c.Job, Job(JobState.Failed)));
        button.Find("[data-testid=purge-button]").Click();
        provider.Find("[data-testid=confirm-cancel]").Click();
        Assert.Empty(api.Requests);
    }

    [Theory]
    [InlineData(JobState.Running)]
    [InlineData(JobState.Paused)]
    [InlineData(JobState.Queued)]
    public void An_unfinished_job_has_no_purge_button(JobState state)
    {
        new StubApi().Use(Services);
        var button = Render<PurgeJobButton>(p => p.Add(c => c.Job, Job(state)));
        Assert.Empty(button.FindAll("[data-testid=purge-button]"));
    }

    [Fact]
    public void A_purged_job_says_so_instead()
    {
        new StubApi().Use(Services);
        var button = Render<PurgeJobButton>(p => p.Add(c => c.Job, Job(JobState.Completed) with { Purged = new JobPurgeDto(T0, 1_000, 2_097_152) }));
        Assert.Empty(button.FindAll("[data-testid=purge-button]"));
        Assert.Contains("1,000", button.Find("[data-testid=purged-chip]").TextContent);
    }

    private static JobDto Job(JobState state) => new(
        JobId, "reviews", state, null, JobInputFormat.Jsonl, "deepseek-chat", null, "sim-primary", "deepseek-chat", null, null, null, "Classify: {{text}}",
        new JobCounters(100, 0, 100, 0, 0, 0, 0, 0.01m, 1, null), new JobEstimate(100, 1000, 1000, 0.01m, "deepseek-chat"),
        null, null, null, false, T0, T0, T0.AddMinutes(1));
}
