using System.Globalization;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using AspireBatch.Contracts;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

/// <summary>
/// Rehearsals through the Dashboard: both simulators answer like classifiers, sim-fallback labels 30 % of the prompts
/// differently (its own salt), so the candidate's agreement with the baseline is below 100 % and there are disagreements.
/// </summary>
public sealed class RehearsalPageTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    private static readonly string[] Labels = ["positive", "negative", "neutral"];
    private static readonly Regex RehearsalUrl = new("/rehearsals/(?<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$");

    public override async ValueTask InitializeAsync()
    {
        // The base class resets the simulators (labels included) before and after each test.
        await base.InitializeAsync();
        await BrowserStackFixture.ConfigureSimulatorAsync(Stack.SimPrimary, new { labels = Labels });
        await BrowserStackFixture.ConfigureSimulatorAsync(Stack.SimFallback, new { labels = Labels, disagreeRate = 0.3, answerSalt = "b" });
    }

    [Fact]
    public async Task An_operator_runs_a_rehearsal_and_adopts_it()
    {
        var source = await Stack.CreateJobAsync("source.jsonl", BrowserStackFixture.Jsonl(60, "s"), "deepseek-chat",
            name: "rehearsal source " + Guid.NewGuid().ToString("N")[..6], startPaused: true);
        Assert.Equal(JobState.Paused, source.Job.State);

        await SignedInAtAsync($"/jobs/{source.Job.Id}");
        await Id("rehearse-button").ClickAsync();
        await Page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/rehearsals/new");
        await Page.Locator("[data-testid=new-rehearsal-form][data-ready=true]").WaitForAsync();
        // The job page's button names the source.
        await Expect(Field("source-job")).ToHaveValueAsync(new Regex(Regex.Escape(source.Job.Name!)));

        // The sample size is an immediate field: it takes the value without a blur.
        await Field("sample-size").FillAsync("30");
        await SelectAsync("sample-strategy", "Random");
        await SelectAsync("target-select-0", "sim-primary/deepseek-chat");
        await SelectAsync("target-select-1", "sim-fallback/deepseek-chat");
        await Id("target-baseline-0").ClickAsync();
        await SelectAsync("judge-kind", "Label");
        await ScreenshotAsync("rehearsal-setup");
        await Id("rehearsal-submit").ClickAsync();
        await Page.WaitForURLAsync(RehearsalUrl);
        var id = Guid.Parse(RehearsalUrl.Match(Page.Url).Groups["id"].Value);

        await Expect(Id("rehearsal-state")).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = (float)JobTimeout.TotalMilliseconds });
        var rows = Page.Locator("[data-testid=target-progress]");
        await Expect(rows).ToHaveCountAsync(2);
        await Expect(rows.Nth(0)).ToHaveAttributeAsync("data-done", "30");
        await Expect(rows.Nth(1)).ToHaveAttributeAsync("data-done", "30");

        var candidate = Page.Locator("[data-testid=comparison-row][data-position='1']");
        var agreementText = await candidate.GetByTestId("comparison-agreement").GetAttributeAsync("data-value");
        var agreement = double.Parse(agreementText!, CultureInfo.InvariantCulture);
        Assert.InRange(agreement, 0.01, 0.99);
        await Expect(Page.Locator("[data-testid=confusion-matrix]")).ToHaveCountAsync(1);
        await Expect(Page.Locator("[data-testid=record-row]").First).ToBeVisibleAsync();
        Assert.True(await Page.Locator("[data-testid=record-row]").CountAsync() > 0);
        // Every row listed is one the candidate labels differently from the baseline.
        await Expect(Page.Locator("[data-testid=record-row] [data-testid=record-answer][data-position='1'][data-agrees=true]")).ToHaveCountAsync(0);
        await Expect(Id("adoptions-empty")).ToBeVisibleAsync();
        await ScreenshotAsync("rehearsal-completed");

        var routeName = "adopted-" + Guid.NewGuid().ToString("N")[..6];
        await candidate.GetByTestId("adopt-button").ClickAsync();
        await Expect(Id("adopt-dialog")).ToBeVisibleAsync();
        await Expect(Id("adopt-candidate")).ToHaveTextAsync("sim-fallback/deepseek-chat");
        await Expect(Id("adopt-replaces")).ToHaveTextAsync("sim-primary/deepseek-chat");
        await Expect(Page.Locator("[data-testid=adopt-why-line]").First).ToBeVisibleAsync();
        // The baseline is not a route: the route must be named before the review.
        await Expect(Id("adopt-next")).ToBeDisabledAsync();
        await Field("adopt-route").FillAsync(routeName);
        await Id("adopt-next").ClickAsync();
        await Expect(Id("adopt-summary")).ToContainTextAsync(routeName);
        await Id("adopt-confirm").ClickAsync();
        await Expect(Id("adopt-dialog")).ToHaveCountAsync(0);

        var adoption = Page.Locator($"[data-testid=adoption-row][data-route='{routeName}']");
        await Expect(adoption).ToBeVisibleAsync();
        await Expect(adoption.GetByTestId("adoption-route-link")).ToHaveAttributeAsync("href", "/routes");
        await ScreenshotAsync("rehearsal-adopted");

        var routes = (await Stack.Api.GetFromJsonAsync<List<RouteDto>>("/api/routes", BrowserStackFixture.Json))!;
        var route = Assert.Single(routes, r => r.Name == routeName);
        Assert.Equal(["sim-fallback", "sim-primary"], route.Targets.OrderBy(t => t.Position).Select(t => t.ProviderName));
        Assert.Equal(0, route.ActiveTargetPosition);
        var rehearsal = (await Stack.Api.GetFromJsonAsync<RehearsalDto>($"/api/rehearsals/{id}", BrowserStackFixture.Json))!;
        Assert.Equal(routeName, Assert.Single(rehearsal.Adoptions).Route);
        Assert.Empty(await ErrorSnackbarsAsync());
    }
}
