using System.Text;
using System.Text.RegularExpressions;
using AspireBatch.Contracts;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

public sealed class JobTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    private static readonly Regex JobDetailUrl = new("/jobs/(?<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$");

    private ILocator FileInput => Page.Locator("input[type=file][data-testid=file-input], [data-testid=file-input] input[type=file]").First;

    private async Task OpenNewJobFormAsync()
    {
        await SignedInAtAsync("/jobs/new");
        await Page.Locator("[data-testid=new-job-form][data-ready=true]").WaitForAsync();
    }

    private async Task UploadAsync(string fileName, string content)
    {
        await FileInput.SetInputFilesAsync(new FilePayload { Name = fileName, MimeType = "application/x-ndjson", Buffer = Encoding.UTF8.GetBytes(content) });
        await Expect(Id("upload-file-name")).ToHaveTextAsync(fileName);
        await Expect(Id("upload-progress")).ToHaveAttributeAsync("data-percent", "100");
    }

    private async Task FillFormAsync(string model, string userTemplate)
    {
        await Field("model-select").FillAsync(model);
        await Field("user-template").FillAsync(userTemplate);
        // Non-immediate MudBlazor fields take their value on change (blur).
        await Field("user-template").PressAsync("Tab");
    }

    private async Task<Guid> SubmitAsync()
    {
        await Id("submit-button").ClickAsync();
        await Page.WaitForURLAsync(JobDetailUrl);
        return Guid.Parse(JobDetailUrl.Match(Page.Url).Groups["id"].Value);
    }

    [Fact]
    public async Task Uploaded_file_is_previewed_estimated_and_its_job_progresses_live_to_100_percent()
    {
        const int records = 300;
        var content = BrowserStackFixture.Jsonl(records, "u");
        await OpenNewJobFormAsync();
        await UploadAsync("reviews.jsonl", content);
        await FillFormAsync("gpt-3.5-turbo", "Classify: {{text}}");

        await Id("preview-button").ClickAsync();
        await Expect(Id("template-preview")).ToBeVisibleAsync();
        await Expect(Id("estimate-items")).ToHaveTextAsync(records.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        await Expect(Id("estimate-cost")).ToContainTextAsync("$");
        var first = Page.Locator("[data-testid=preview-record][data-record-id=u0]");
        await Expect(first).ToBeVisibleAsync();
        await Expect(first.GetByTestId("preview-user")).ToHaveTextAsync("Classify: review number 0: the product works");
        Assert.True(await Id("preview-record").CountAsync() >= 2, "the preview shows the first few records");
        // The preview's own note is an info snackbar: this also proves the severity is read right.
        await Expect(Page.Locator(".mud-snackbar").Filter(new() { HasText = "300 records read" })).ToHaveClassAsync(new Regex("mud-alert-[a-z]+-info"));
        Assert.Empty(await ErrorSnackbarsAsync());
        await ScreenshotAsync("new-job-preview");

        // From here on the page must not load again: this marker lives only as long as the document.
        await Page.EvaluateAsync("() => window.__sameDocument = 'kept'");
        var jobId = await SubmitAsync();
        await Expect(Id("job-progress")).ToBeVisibleAsync();
        await Expect(Id("counter-total")).ToHaveTextAsync(records.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));

        await Expect(Id("job-progress")).ToHaveAttributeAsync("data-percent", "100", new() { Timeout = (float)JobTimeout.TotalMilliseconds });
        await Expect(Id("job-progress-percent")).ToHaveTextAsync("100%");
        await Expect(Id("job-state")).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = (float)JobTimeout.TotalMilliseconds });
        await Expect(Id("counter-succeeded")).ToHaveTextAsync(records.ToString("N0", System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("kept", await Page.EvaluateAsync<string?>("() => window.__sameDocument ?? null"));
        await ScreenshotAsync("job-detail-completed");

        var job = await Stack.GetJobAsync(jobId);
        Assert.Equal(JobState.Completed, job.State);
        Assert.Equal("gpt-3.5-turbo", job.RequestedModel);
        Assert.Equal(records, job.Counters.Succeeded);
    }

    [Fact]
    public async Task An_item_opens_in_a_drawer_with_its_attempts_and_lineage()
    {
        var created = await Stack.CreateJobAsync("items.jsonl", BrowserStackFixture.Jsonl(20, "i"), "gpt-3.5-turbo", name: "items drawer");
        await Stack.WaitForJobAsync(created.Job.Id, j => j.State == JobState.Completed, JobTimeout);

        await SignedInAtAsync($"/jobs/{created.Job.Id}");
        var row = Page.Locator("[data-testid=item-row][data-state=succeeded]").First;
        await row.ClickAsync();

        var detail = Id("item-detail");
        await Expect(detail).ToBeVisibleAsync();
        var itemId = await row.GetAttributeAsync("data-item-id");
        await Expect(detail).ToHaveAttributeAsync("data-item-id", itemId!);
        await Expect(Id("attempt-table")).ToBeVisibleAsync();
        var attempts = Id("attempt-row");
        Assert.True(await attempts.CountAsync() >= 1);
        await Expect(attempts.First).ToContainTextAsync("sim-primary");
        await Expect(attempts.First).ToContainTextAsync("200");
        await Expect(Id("item-response")).ToContainTextAsync("sim:");
        await Expect(Id("item-request")).ToContainTextAsync("Classify: review number");

        // Lineage: the job, its hashes, the provider, the name asked for and the provider's own id of the answer.
        var job = await Stack.GetJobAsync(created.Job.Id);
        await Expect(Id("lineage")).ToBeVisibleAsync();
        await Expect(Id("lineage-job")).ToHaveTextAsync(job.Id.ToString());
        await Expect(Id("lineage-template-hash")).ToHaveTextAsync(job.TemplateHash!);
        await Expect(Id("lineage-parameters-hash")).ToHaveTextAsync(job.ParametersHash!);
        await Expect(Id("lineage-provider")).ToHaveTextAsync("sim-primary");
        await Expect(Id("lineage-requested-model")).ToHaveTextAsync("gpt-3.5-turbo");
        await Expect(Id("lineage-response-id")).ToHaveTextAsync(new Regex("^chatcmpl-[0-9a-f]+$"));
        await Expect(Id("lineage-attempt")).ToHaveTextAsync((await attempts.CountAsync()).ToString());
        await Expect(Id("lineage-usage-source")).ToHaveTextAsync(UsageSources.Reported);
        await ScreenshotAsync("job-detail-item-drawer");

        var trace = Id("trace-link");
        if (await trace.CountAsync() > 0)
        {
            Assert.Matches("^https?://.+/traces/detail/[0-9a-f]+$", await trace.GetAttributeAsync("href"));
        }

        await Id("item-drawer-close").ClickAsync();
        // A closed MudDrawer stays in the page, moved out of sight.
        await Expect(Id("item-drawer")).ToHaveClassAsync(new Regex("mud-drawer--closed"));

        // The Export menu's "with lineage" goes through the Dashboard to the Api's lineage=true.
        await Id("export-menu").ClickAsync();
        var download = await Page.RunAndWaitForDownloadAsync(() => Id("export-jsonl-lineage").ClickAsync());
        using var exported = new StreamReader(await download.CreateReadStreamAsync());
        var lines = (await exported.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(20, lines.Length);
        Assert.All(lines, l => Assert.Contains($",\"lineage\":{{\"job_id\":\"{job.Id}\"", l));
    }

    [Fact]
    public async Task Failures_from_a_faulty_simulator_are_shown_and_retried_to_completion()
    {
        const int records = 8;
        var route = await Stack.CreateRouteAsync("faulty", ("sim-primary", "deepseek-chat"));
        await BrowserStackFixture.ConfigureSimulatorAsync(Stack.SimPrimary, new { error500Rate = 1.0 });
        var created = await Stack.CreateJobAsync("faulty.jsonl", BrowserStackFixture.Jsonl(records, "f"), route.Name, name: "faulty simulator");

        await SignedInAtAsync($"/jobs/{created.Job.Id}");
        // Every attempt fails: the job finishes with all items failed, shown live.
        await Expect(Id("counter-failed")).ToHaveTextAsync(records.ToString(), new() { Timeout = (float)JobTimeout.TotalMilliseconds });
        await Expect(Id("job-state")).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = (float)JobTimeout.TotalMilliseconds });

        await SelectAsync("items-filter-state", "Failed");
        var failedRows = Page.Locator("[data-testid=item-row][data-state=failed]");
        await Expect(failedRows).ToHaveCountAsync(records);
        await Expect(Page.Locator("[data-testid=item-row]:not([data-state=failed])")).ToHaveCountAsync(0);
        await Expect(Id("items-grid")).ToContainTextAsync("http_500");

        await Field("items-filter-error").FillAsync("http_404");
        await Expect(Id("items-empty")).ToBeVisibleAsync();
        await Field("items-filter-error").FillAsync("http_500");
        await Expect(failedRows).ToHaveCountAsync(records);
        await ScreenshotAsync("job-detail-failures");

        await Stack.ResetSimulatorsAsync();
        await Id("retry-failed-button").ClickAsync();
        await Expect(Id("retry-dialog")).ToBeVisibleAsync();
        await Id("confirm-yes").ClickAsync();

        await Expect(Id("counter-succeeded")).ToHaveTextAsync(records.ToString(), new() { Timeout = (float)JobTimeout.TotalMilliseconds });
        await Expect(Id("counter-failed")).ToHaveTextAsync("0");
        await Expect(Id("job-state")).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = (float)JobTimeout.TotalMilliseconds });
        await Expect(Id("job-progress")).ToHaveAttributeAsync("data-percent", "100");
        await Expect(Id("retry-failed-button")).ToBeDisabledAsync();

        var job = await Stack.GetJobAsync(created.Job.Id);
        Assert.Equal(records, job.Counters.Succeeded);
        Assert.Equal(0, job.Counters.Failed);
    }

    [Fact]
    public async Task The_unanswered_records_of_a_failing_job_move_to_another_route_and_its_history_says_so()
    {
        const int records = 6;
        var failing = await Stack.CreateRouteAsync("failing", ("sim-primary", "deepseek-chat"));
        var rescue = await Stack.CreateRouteAsync("rescue", ("sim-fallback", "deepseek-chat"));
        await BrowserStackFixture.ConfigureSimulatorAsync(Stack.SimPrimary, new { error500Rate = 1.0 });
        var created = await Stack.CreateJobAsync("move.jsonl", BrowserStackFixture.Jsonl(records, "m"), failing.Name, name: "move leftovers");

        await SignedInAtAsync($"/jobs/{created.Job.Id}");
        await Expect(Id("counter-failed")).ToHaveTextAsync(records.ToString(), new() { Timeout = (float)JobTimeout.TotalMilliseconds });
        await Expect(Id("job-state")).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = (float)JobTimeout.TotalMilliseconds });

        // sim-primary still fails: the records go elsewhere instead of being retried where they failed.
        await Id("move-leftovers-button").ClickAsync();
        await Expect(Id("move-dialog")).ToBeVisibleAsync();
        await Field("move-model").FillAsync(rescue.Name);
        await Id("confirm-yes").ClickAsync();

        await Expect(Id("counter-succeeded")).ToHaveTextAsync(records.ToString(), new() { Timeout = (float)JobTimeout.TotalMilliseconds });
        await Expect(Id("counter-failed")).ToHaveTextAsync("0");
        await Expect(Id("job-state")).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = (float)JobTimeout.TotalMilliseconds });
        var moved = Page.Locator("[data-testid=job-event][data-kind=movedleftovers]");
        await Expect(moved).ToHaveCountAsync(1);
        await Expect(moved).ToContainTextAsync(rescue.Name);
        await Expect(Page.Locator("[data-testid=job-event][data-kind=created]")).ToHaveCountAsync(1);
        await ScreenshotAsync("job-detail-moved-leftovers");

        var job = await Stack.GetJobAsync(created.Job.Id);
        Assert.Equal((records, 0, rescue.Name), (job.Counters.Succeeded, job.Counters.Failed, job.RouteName));
        await Stack.ResetSimulatorsAsync();
    }

    [Fact]
    public async Task A_bad_file_lists_its_errors_with_line_numbers()
    {
        // Line 2 is not JSON, line 3 has no text for {{text}}, line 4 repeats the id of line 1.
        var content = "{\"id\":1,\"text\":\"a\"}\nnot json\n{\"id\":3}\n{\"id\":1,\"text\":\"b\"}\n{\"id\":5,\"text\":\"fine\"}\n";
        await OpenNewJobFormAsync();
        await UploadAsync("bad.jsonl", content);
        await FillFormAsync("gpt-3.5-turbo", "Classify: {{text}}");

        await Id("preview-button").ClickAsync();
        await Expect(Id("error-list")).ToBeVisibleAsync();
        var lines = Id("error-line");
        await Expect(lines).ToHaveCountAsync(3);
        Assert.Equal(["2", "3", "4"], await lines.EvaluateAllAsync<string[]>("els => els.map(e => e.dataset.line)"));
        await Expect(lines.Nth(0)).ToContainTextAsync("Line 2");
        await Expect(lines.Nth(2)).ToContainTextAsync("duplicate id");
        await Expect(Id("template-preview")).ToHaveCountAsync(0);
        await ScreenshotAsync("new-job-bad-file");

        // Creating is refused the same way; nothing is created and the page stays.
        await Id("submit-button").ClickAsync();
        await Expect(Id("error-list")).ToBeVisibleAsync();
        await Expect(lines).ToHaveCountAsync(3);
        Assert.EndsWith("/jobs/new", Page.Url);
    }
}
