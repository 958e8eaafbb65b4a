using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Pages.Jobs.Components;
using AspireBatch.Dashboard.Components.Shared;

namespace AspireBatch.Dashboard.Tests;

public sealed class ProviderBatchesPanelTests : DashboardContext
{
    private static readonly Guid JobId = Guid.Parse("019a4c02-0000-7000-8000-000000000001");
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);

    private static JobDto Job(JobMode mode) => new(
        JobId, "reviews", JobState.Running, null, JobInputFormat.Jsonl, "deepseek-chat", null, "sim-primary", "deepseek-chat", null, null, null, "Classify: {{text}}",
        new JobCounters(100, 40, 60, 0, 0, 0, 0, 0m, 1, null), new JobEstimate(100, 1000, 1000, 0.01m, "deepseek-chat"),
        null, null, null, false, T0, T0, null, Mode: mode, Deadline: mode == JobMode.Auto ? T0.AddHours(2) : null);

    [Fact]
    public void Lists_the_jobs_provider_batches_and_the_saving()
    {
        var api = new StubApi().Answer($"/api/jobs/{JobId}/provider-batches", _ => new JobProviderBatches(JobId, JobMode.Auto, T0.AddHours(2),
            [
                new ProviderBatchDto(Guid.NewGuid(), ProviderBatchState.Done, "sim-primary", "deepseek-chat", "batch_abc", "completed", 60, 6_000, 60, 0, 0,
                    60, 1_000_000, 500_000, 0.75m, 1.5m, 0.5m, 0.5m, null, null, T0, T0, T0.AddMinutes(1), T0.AddMinutes(1)),
                new ProviderBatchDto(Guid.NewGuid(), ProviderBatchState.Submitted, "sim-primary", "deepseek-chat", "batch_def", "in_progress", 40, 4_000, 10, 0, 0,
                    0, 0, 0, 0m, 0m, 0.5m, 0.5m, null, null, T0, T0, null, null),
            ], 0.75m, 1.5m, 0.2m)).Use(Services);
        var panel = Render<ProviderBatchesPanel>(p => p.Add(c => c.Job, Job(JobMode.Auto)));

        var rows = panel.FindAll("[data-testid=provider-batch]");
        Assert.Equal(2, rows.Count);
        Assert.Contains("batch_abc", rows[0].TextContent);
        Assert.Equal("Submitted", rows[1].GetAttribute("data-state"));
        Assert.Equal("auto", panel.Find("[data-testid=job-mode]").TextContent.Trim());
        var saving = panel.Find("[data-testid=provider-batches-saving]").TextContent;
        Assert.Contains("$0.75", saving);
        Assert.Contains("$1.50", saving);
        Assert.Contains("saved $0.75", saving);
        Assert.Single(api.Requests, r => r.AbsolutePath == $"/api/jobs/{JobId}/provider-batches");
    }

    [Fact]
    public void A_realtime_job_shows_nothing_and_asks_nothing()
    {
        var api = new StubApi().Use(Services);
        var panel = Render<ProviderBatchesPanel>(p => p.Add(c => c.Job, Job(JobMode.Realtime)));
        Assert.Empty(panel.FindAll("[data-testid=provider-batches]"));
        Assert.Empty(api.Requests);
    }

    [Fact]
    public void The_estimate_shows_the_batch_price_when_the_provider_sells_batches()
    {
        var preview = new TemplatePreview([new RenderedRecord("r-1", 1, null, "Classify: x")],
            new JobEstimate(10, 1000, 1000, 2m, "sim-primary/deepseek-chat", BatchCostBoundUsd: 1m));
        var view = Render<TemplatePreviewView>(p => p.Add(c => c.Preview, preview));
        Assert.Equal("$1.00", view.Find("[data-testid=estimate-batch-cost]").TextContent);
        var realtimeOnly = Render<TemplatePreviewView>(p => p.Add(c => c.Preview, preview with { Estimate = preview.Estimate with { BatchCostBoundUsd = null } }));
        Assert.Empty(realtimeOnly.FindAll("[data-testid=estimate-batch-cost]"));
    }

    [Fact]
    public async Task The_job_form_sends_the_mode_and_the_deadline()
    {
        var form = new AspireBatch.Dashboard.Api.JobForm { Model = "m", UserTemplate = "t", Mode = JobModes.AutoName, Deadline = T0.AddHours(3) };
        using var content = form.ToContent(new MemoryStream([1]), "f.jsonl");
        var fields = new Dictionary<string, string>();
        foreach (var part in content)
        {
            fields[part.Headers.ContentDisposition!.Name!.Trim('"')] = await part.ReadAsStringAsync(Xunit.TestContext.Current.CancellationToken);
        }
        Assert.Equal("auto", fields["mode"]);
        Assert.Equal(T0.AddHours(3), DateTimeOffset.Parse(fields["deadline"], System.Globalization.CultureInfo.InvariantCulture));
        using var realtime = new AspireBatch.Dashboard.Api.JobForm { Model = "m", UserTemplate = "t" }.ToContent(new MemoryStream([1]), "f.jsonl");
        Assert.DoesNotContain(realtime, p => p.Headers.ContentDisposition!.Name!.Trim('"') is "mode" or "deadline");
    }
}
