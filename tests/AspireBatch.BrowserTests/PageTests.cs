using System.Net.Http.Json;
using AspireBatch.Contracts;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

/// <summary>Every page loads for the operator without an error, and leaves a full-page screenshot to look at.</summary>
public sealed class PageTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    [Fact]
    public async Task Every_page_loads_without_an_error_and_is_saved_as_a_screenshot()
    {
        // Something to show: a finished job, and a running one for the Overview's progress bars.
        var done = await Stack.CreateJobAsync("done.jsonl", BrowserStackFixture.Jsonl(120, "d"), "gpt-3.5-turbo", name: "support tickets (done)");
        await Stack.WaitForJobAsync(done.Job.Id, j => j.State == JobState.Completed, JobTimeout);
        // A finished rehearsal of it, for the Rehearsals pages.
        var rehearse = await Stack.Api.PostAsJsonAsync("/api/rehearsals", new RehearsalRequest(done.Job.Id, new SampleRequest(20, SampleStrategy.First),
            [new RehearsalTargetRequest(Provider: "sim-primary", Model: "deepseek-chat", Baseline: true), new RehearsalTargetRequest(Provider: "sim-fallback", Model: "deepseek-chat")],
            new JudgeRequest(JudgeKind.Normalized), MonthlyRecords: 1_000_000, Name: "support tickets rehearsal"), BrowserStackFixture.Json);
        Assert.True(rehearse.IsSuccessStatusCode, await rehearse.Content.ReadAsStringAsync());
        var rehearsal = (await rehearse.Content.ReadFromJsonAsync<RehearsalDto>(BrowserStackFixture.Json))!;
        for (var deadline = DateTime.UtcNow + JobTimeout; rehearsal.State == RehearsalState.Running && DateTime.UtcNow < deadline; await Task.Delay(250))
        {
            rehearsal = (await Stack.Api.GetFromJsonAsync<RehearsalDto>($"/api/rehearsals/{rehearsal.Id}", BrowserStackFixture.Json))!;
        }
        Assert.Equal(RehearsalState.Completed, rehearsal.State);
        await BrowserStackFixture.ConfigureSimulatorAsync(Stack.SimPrimary, new { latencyMs = 400 });
        var running = await Stack.CreateJobAsync("running.jsonl", BrowserStackFixture.Jsonl(5000, "r"), "gpt-3.5-turbo", name: "product reviews (running)");
        await Stack.WaitForJobAsync(running.Job.Id, j => j.Counters.Succeeded > 0, JobTimeout);

        await SignInAsync();
        var pages = new (string Name, string Path, string Title, string Ready)[]
        {
            ("overview", "/", "Overview", "[data-testid=page-title]"),
            ("job-detail-running", $"/jobs/{running.Job.Id}", "product reviews (running)", "[data-testid=job-charts], [data-testid=job-state][data-state=completed]"),
            ("jobs", "/jobs", "Jobs", "[data-testid=job-row]"),
            ("new-job", "/jobs/new", "New job", "[data-testid=new-job-form][data-ready=true]"),
            ("job-detail", $"/jobs/{done.Job.Id}", "support tickets (done)", "[data-testid=item-row]"),
            ("providers", "/providers", "Providers", "[data-testid=provider-card]"),
            ("routes", "/routes", "Routes", "[data-testid=route-card]"),
            ("costs", "/costs", "Costs", "[data-testid=usage-row]"),
            ("rehearsals", "/rehearsals", "Rehearsals", "[data-testid=rehearsal-row]"),
            ("new-rehearsal", $"/rehearsals/new?source={done.Job.Id}", "New rehearsal", "[data-testid=new-rehearsal-form][data-ready=true]"),
            ("rehearsal-detail", $"/rehearsals/{rehearsal.Id}", "support tickets rehearsal", "[data-testid=comparison-row]"),
            ("audit", "/audit", "Audit log", "[data-testid=audit-row]"),
        };
        var problems = new List<string>();
        foreach (var (name, path, title, ready) in pages)
        {
            await GotoAsync(path);
            await Expect(Id("page-title")).ToHaveTextAsync(title);
            await Page.Locator(ready).First.WaitForAsync();
            // Let loading bars and charts settle before the picture.
            await WaitForLoadedAsync();
            await Page.WaitForTimeoutAsync(1000);
            var errors = await ErrorSnackbarsAsync();
            problems.AddRange(errors.Select(e => $"{path}: snackbar {e}"));
            var path1 = await ScreenshotAsync("page-" + name);
            Assert.True(File.Exists(path1), $"no screenshot at {path1}");
        }
        Assert.Empty(problems);

        // Stop the running job if it has not finished by itself (409 then).
        var cancel = await Stack.Api.PostAsync($"/api/jobs/{running.Job.Id}/cancel", null);
        Assert.True(cancel.IsSuccessStatusCode || cancel.StatusCode == System.Net.HttpStatusCode.Conflict, $"cancel answered {(int)cancel.StatusCode}");
    }
}
