using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using Aspire.Hosting.ApplicationModel;
using AspireBatch.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

/// <summary>
/// Redis stopped for 10 s and started again (Aspire's resource commands) under an open job page and jobs list: both
/// keep moving without a reload, say live updates are paused meanwhile, and go live again by themselves.
/// </summary>
public sealed class LiveRecoveryTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    private const int Records = 300;
    private const int RequestsPerMinute = 180;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan LiveWindow = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Live events reach the job page at least every ~1.5 s (a worker announces a job's progress once a second,
    /// the page reloads at most every 750 ms); polling alone gives at most 2 changes in the window, plus one catch-up.
    /// </summary>
    private const int MinLiveChanges = 5;

    // Samples a figure every 250 ms and keeps [time, value] each time it changes; the marker dies with the document.
    private const string Recorder = """
        selector => {
          window.__sameDocument = 'kept';
          window.__changes = [];
          let last = null;
          const read = () => {
            const el = document.querySelector(selector);
            if (!el) return null;
            const v = el.dataset.percent ?? el.textContent;
            return Number(String(v).replace(/[^0-9.]/g, ''));
          };
          setInterval(() => {
            const v = read();
            if (v !== null && v !== last) { last = v; window.__changes.push([Date.now(), v]); }
          }, 250);
        }
        """;

    [Fact]
    public async Task Job_page_and_jobs_list_keep_updating_through_a_Redis_restart_without_a_reload()
    {
        var jobId = await CreateSlowJobAsync();
        var commands = Stack.App.Services.GetRequiredService<ResourceCommandService>();
        var redisStopped = false;
        try
        {
            await SignedInAtAsync($"/jobs/{jobId}");
            await Expect(Id("live-status")).ToHaveAttributeAsync("data-state", "live");
            await Page.EvaluateAsync(Recorder, "[data-testid=counter-succeeded]");
            var list = await Context.NewPageAsync();
            await list.GotoAsync("/jobs");
            await list.Locator("#circuit-ready[data-ready=true]").WaitForAsync(new() { State = WaitForSelectorState.Attached });
            var listProgress = $"tr:has([data-job-id='{jobId}']) [data-testid=job-progress]";
            await list.Locator(listProgress).WaitForAsync();
            await list.EvaluateAsync(Recorder, listProgress);
            // A generous start: on a loaded machine the workers may still be finishing an earlier test's records.
            await WaitForChangesAsync(Page, since: 0, count: 2, TimeSpan.FromSeconds(60), "the job page before the outage");

            var stopped = await commands.ExecuteCommandAsync("redis-server", "resource-stop");
            Assert.True(stopped.Success, stopped.Message);
            redisStopped = true;
            var outage = Stopwatch.StartNew();
            // While Redis is away both pages say so and the job page still moves, from the Api.
            await Expect(Id("live-status")).ToHaveAttributeAsync("data-state", "paused", new() { Timeout = 10_000 });
            await Expect(list.GetByTestId("live-status")).ToHaveAttributeAsync("data-state", "paused", new() { Timeout = 10_000 });
            var pausedAt = await NowAsync(Page);
            await Task.Delay(Outage - outage.Elapsed is { Ticks: > 0 } left ? left : TimeSpan.Zero);
            var duringOutage = Changes(await ChangesAsync(Page), pausedAt);

            var started = await commands.ExecuteCommandAsync("redis-server", "resource-start");
            Assert.True(started.Success, started.Message);
            redisStopped = false;
            await Stack.App.ResourceNotifications.WaitForResourceHealthyAsync("redis-server").WaitAsync(TimeSpan.FromSeconds(30));
            var restarted = outage.Elapsed;
            await Expect(Id("live-status")).ToHaveAttributeAsync("data-state", "live", new() { Timeout = 15_000 });
            var liveAgain = outage.Elapsed;
            var liveAt = await NowAsync(Page);
            await Expect(list.GetByTestId("live-status")).ToHaveAttributeAsync("data-state", "live", new() { Timeout = 5_000 });
            await Task.Delay(LiveWindow);

            var afterOutage = Changes(await ChangesAsync(Page), liveAt);
            var listAfter = Changes(await ChangesAsync(list), liveAt);
            var summary = $"Redis away {restarted.TotalSeconds:0.0} s, live again {(liveAgain - restarted).TotalSeconds:0.0} s after its start; " +
                          $"job page changes: {duringOutage.Count} while paused, {afterOutage.Count} in the {LiveWindow.TotalSeconds:0} s after " +
                          $"({string.Join(", ", afterOutage.Select(c => $"+{c.At - liveAt} ms {c.Value}"))}); jobs list changes after: {listAfter.Count}";
            TestContext.Current.TestOutputHelper?.WriteLine(summary);

            Assert.True(duringOutage.Count >= 2, $"the job page polls while live updates are paused: {summary}");
            Assert.True(afterOutage.Count >= MinLiveChanges, $"the job page is driven by live events again, not only by polling: {summary}");
            Assert.True(afterOutage[^1].Value > afterOutage[0].Value, $"progress rises after Redis returned: {summary}");
            var listBefore = (await ChangesAsync(list)).Last(c => c.At <= liveAt).Value;
            Assert.True(listAfter.Count >= 1 && listAfter[^1].Value > listBefore, $"the jobs list's progress rises after Redis returned (from {listBefore} %): {summary}");
            foreach (var p in new[] { Page, list })
            {
                Assert.Equal("kept", await p.EvaluateAsync<string?>("() => window.__sameDocument ?? null"));
            }
            Assert.EndsWith($"/jobs/{jobId}", Page.Url);
            Assert.Empty(await ErrorSnackbarsAsync());
        }
        finally
        {
            if (redisStopped)
            {
                await commands.ExecuteCommandAsync("redis-server", "resource-start");
                await Stack.App.ResourceNotifications.WaitForResourceHealthyAsync("redis-server").WaitAsync(TimeSpan.FromSeconds(30));
            }
            await Stack.Api.PostAsync($"/api/jobs/{jobId}/cancel", null);
        }
    }

    /// <summary>A job capped at 3 calls a second: 300 records take 100 s, longer than the test looks.</summary>
    private async Task<Guid> CreateSlowJobAsync()
    {
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(Encoding.UTF8.GetBytes(BrowserStackFixture.Jsonl(Records, "live"))), "file", "live.jsonl" },
            { new StringContent("gpt-3.5-turbo"), "model" },
            { new StringContent("Classify: {{text}}"), "userTemplate" },
            { new StringContent("live recovery"), "name" },
            // Paused until the cap is set, so no burst runs before it.
            { new StringContent("true"), "startPaused" },
        };
        var response = await Stack.Api.PostAsync("/api/jobs", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"creating the job failed: {(int)response.StatusCode} {body}");
        var jobId = System.Text.Json.JsonSerializer.Deserialize<CreatedJob>(body, BrowserStackFixture.Json)!.Job.Id;
        (await Stack.Api.PutAsJsonAsync($"/api/jobs/{jobId}/settings", new JobSettingsRequest(RequestsPerMinute, null), BrowserStackFixture.Json)).EnsureSuccessStatusCode();
        (await Stack.Api.PostAsync($"/api/jobs/{jobId}/resume", null)).EnsureSuccessStatusCode();
        return jobId;
    }

    private sealed record Change(long At, double Value);

    private static async Task<IReadOnlyList<Change>> ChangesAsync(IPage page) =>
        (await page.EvaluateAsync<double[][]>("() => window.__changes")).Select(c => new Change((long)c[0], c[1])).ToList();

    private static List<Change> Changes(IReadOnlyList<Change> changes, long since) => changes.Where(c => c.At > since).ToList();

    private static Task<long> NowAsync(IPage page) => page.EvaluateAsync<long>("() => Date.now()");

    private static async Task WaitForChangesAsync(IPage page, long since, int count, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (Changes(await ChangesAsync(page), since).Count < count)
        {
            Assert.True(clock.Elapsed < timeout, $"{what} did not change {count} times within {timeout}");
            await Task.Delay(250);
        }
    }
}
