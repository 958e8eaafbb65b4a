using AspireBatch.Contracts;
using System.Net.Http.Json;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

public sealed class RouteTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    [Fact]
    public async Task A_route_is_rolled_back_with_a_reason_shown_in_its_history_and_rolled_forward()
    {
        var route = await Stack.CreateRouteAsync("rollback", ("sim-primary", "deepseek-chat"), ("sim-fallback", "deepseek-chat"));
        await SignedInAtAsync("/routes");

        var card = Page.Locator($"[data-testid=route-card][data-route='{route.Name}']");
        await Expect(card).ToHaveAttributeAsync("data-active-position", "0");
        await Expect(card.GetByTestId("rollbacks-empty")).ToBeVisibleAsync();
        await Expect(card.GetByTestId("rollforward-button")).ToBeDisabledAsync();

        // Cancelling the confirmation changes nothing.
        await card.GetByTestId("rollback-button").ClickAsync();
        await Expect(Id("confirm-dialog")).ToBeVisibleAsync();
        await Id("confirm-cancel").ClickAsync();
        await Expect(Id("confirm-dialog")).ToHaveCountAsync(0);
        await Expect(card).ToHaveAttributeAsync("data-active-position", "0");

        const string reason = "sim-primary answers slowly since 14:00";
        await card.GetByTestId("rollback-button").ClickAsync();
        await Expect(Id("confirm-message")).ToContainTextAsync("sim-fallback/deepseek-chat");
        await Expect(Id("confirm-yes")).ToBeDisabledAsync(); // a reason is required
        await Field("confirm-reason").FillAsync(reason);
        await Id("confirm-yes").ClickAsync();

        await Expect(card).ToHaveAttributeAsync("data-active-position", "1");
        await Expect(card.Locator("[data-testid=route-target-row][data-active=true]")).ToHaveAttributeAsync("data-position", "1");
        await Expect(card.GetByTestId("route-active")).ToContainTextAsync("sim-fallback/deepseek-chat");
        var history = card.GetByTestId("rollback-row");
        await Expect(history).ToHaveCountAsync(1);
        await Expect(history.First.GetByTestId("rollback-reason")).ToHaveTextAsync(reason);
        await Expect(history.First).ToContainTextAsync("manual rollback");
        await Expect(history.First).ToContainTextAsync("#0 sim-primary/deepseek-chat");
        await Expect(history.First).ToContainTextAsync("#1 sim-fallback/deepseek-chat");
        // Manual switches carry no window figures: the column stays empty instead of showing raw JSON.
        await Expect(history.First.GetByTestId("rollback-figures")).ToHaveTextAsync("");
        await ScreenshotAsync("routes-rolled-back");

        await card.GetByTestId("rollforward-button").ClickAsync();
        await Field("confirm-reason").FillAsync("sim-primary is fast again");
        await Id("confirm-yes").ClickAsync();
        await Expect(card).ToHaveAttributeAsync("data-active-position", "0");
        await Expect(history).ToHaveCountAsync(2);
        // Newest first.
        await Expect(history.First).ToContainTextAsync("manual roll forward");
        await Expect(history.First.GetByTestId("rollback-reason")).ToHaveTextAsync("sim-primary is fast again");

        var events = await Stack.Api.GetFromJsonAsync<List<RollbackEventDto>>($"/api/routes/{route.Id}/events", BrowserStackFixture.Json);
        Assert.Equal([reason, "sim-primary is fast again"], events!.OrderBy(e => e.Id).Select(e => e.Reason));
    }
    [Fact]
    public async Task A_weighted_route_shows_each_targets_live_figures_and_a_stopped_canary_in_its_history()
    {
        var name = $"canary-{Guid.NewGuid().ToString("N")[..6]}";
        var created = await Stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(name,
            [new RouteTargetRequest("sim-primary", "deepseek-chat", 90), new RouteTargetRequest("sim-fallback", "deepseek-chat", 10, MaxErrorRate: 0.02)],
            new RouteThresholds(AutoRollback: false)), BrowserStackFixture.Json);
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var route = (await created.Content.ReadFromJsonAsync<RouteDto>(BrowserStackFixture.Json))!;
        await SignedInAtAsync("/routes");

        var card = Page.Locator($"[data-testid=route-card][data-route='{name}']");
        var figures = card.GetByTestId("route-target-figures-row");
        await Expect(figures).ToHaveCountAsync(2);
        await Expect(figures.Nth(0)).ToHaveAttributeAsync("data-role", "Active");
        await Expect(figures.Nth(0)).ToHaveAttributeAsync("data-weight", "90");
        await Expect(figures.Nth(1)).ToHaveAttributeAsync("data-role", "Canary");
        await Expect(figures.Nth(1)).ToHaveAttributeAsync("data-weight", "10");
        // The canary's own error threshold, the route's for the rest.
        await Expect(figures.Nth(1).GetByTestId("route-target-limits")).ToContainTextAsync("≤ 2.0%");
        await Expect(figures.Nth(0).GetByTestId("route-target-limits")).ToContainTextAsync("≤ 5.0%");
        await ScreenshotAsync("routes-canary");

        // An operator stops the canary through the Api: the page follows the live event.
        var stopped = await Stack.Api.PutAsJsonAsync($"/api/routes/{route.Id}", new RouteRequest(name,
            [new RouteTargetRequest("sim-primary", "deepseek-chat", 90), new RouteTargetRequest("sim-fallback", "deepseek-chat", 0, MaxErrorRate: 0.02)]), BrowserStackFixture.Json);
        Assert.True(stopped.IsSuccessStatusCode, await stopped.Content.ReadAsStringAsync());
        await Expect(figures.Nth(1)).ToHaveAttributeAsync("data-role", "Fallback");
        var history = card.Locator("[data-testid=rollback-row][data-kind=CanaryStopped]");
        await Expect(history).ToHaveCountAsync(1);
        await Expect(history.GetByTestId("rollback-kind")).ToContainTextAsync("manual canary stopped");
    }
}
