using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using AspireBatch.Contracts;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

/// <summary>The Audit page: a change made through the Api is listed, found again by resource type, and opens its before and after.</summary>
public sealed class AuditPageTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    [Fact]
    public async Task A_change_through_the_api_is_listed_filtered_by_type_and_shows_its_before_and_after()
    {
        var name = $"audit-ui-{Guid.NewGuid().ToString("N")[..6]}";
        var secret = $"sk-audit-ui-{Guid.NewGuid():N}";
        var sim = Stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/') + "/v1";
        var created = await Stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest(name, sim, secret), BrowserStackFixture.Json);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var provider = (await created.Content.ReadFromJsonAsync<ProviderDto>(BrowserStackFixture.Json))!;
        (await Stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}", new ProviderRequest(name, sim, null, RequestsPerMinute: 123), BrowserStackFixture.Json))
            .EnsureSuccessStatusCode();
        // A change of another kind, newer, that the filter by type leaves out.
        (await Stack.Api.PutAsJsonAsync($"/api/aliases/{name}", new ModelAliasDto(name, "deepseek-chat"), BrowserStackFixture.Json)).EnsureSuccessStatusCode();

        await SignedInAtAsync("/audit");
        await WaitForLoadedAsync();
        var update = Page.Locator("tr").Filter(new() { Has = Page.Locator($"[data-testid=audit-row][data-resource-id='{provider.Id}'][data-action=UpdateProvider]") });
        await Expect(update).ToHaveCountAsync(1);
        await Expect(update.GetByTestId("audit-row-actor")).ToHaveTextAsync("api-key (AppHost)");
        await Expect(update.GetByTestId("audit-row-changes")).ToContainTextAsync("requestsPerMinute");
        await Expect(Page.Locator($"[data-testid=audit-row][data-resource-id='{name}'][data-action=PutAlias]")).ToHaveCountAsync(1);

        await SelectAsync("audit-filter-type", "provider");
        await Expect(Page.Locator($"[data-testid=audit-row][data-resource-id='{name}']")).ToHaveCountAsync(0);
        await Expect(Id("audit-row-type").Filter(new() { HasNotTextRegex = new Regex("^provider$") })).ToHaveCountAsync(0);
        await Expect(update).ToHaveCountAsync(1);
        await Expect(Page.Locator($"[data-testid=audit-row][data-resource-id='{provider.Id}'][data-action=CreateProvider]")).ToHaveCountAsync(1);

        await ScreenshotAsync("audit-filtered");

        await update.GetByTestId("audit-row-show").ClickAsync();
        var before = Id("audit-before");
        var after = Id("audit-after");
        await Expect(after).ToContainTextAsync("\"requestsPerMinute\": 123");
        await Expect(before).ToContainTextAsync("\"requestsPerMinute\": null");
        await Expect(after.Locator("[data-changed=true][data-path=requestsPerMinute]")).ToBeVisibleAsync();
        await Expect(before.Locator("[data-changed=true][data-path=requestsPerMinute]")).ToBeVisibleAsync();
        // The name did not change, so it is not marked; the key shows only as its last 4 characters, on both sides.
        await Expect(after.Locator("[data-path=name]")).Not.ToHaveAttributeAsync("data-changed", "true");
        await Expect(after.Locator("[data-path=apiKeyLast4]")).ToContainTextAsync(secret[^4..]);
        await Expect(Id("audit-changed-properties")).ToContainTextAsync("requestsPerMinute");
        await Expect(Id("audit-dialog-actor")).ToContainTextAsync("api-key (AppHost)");
        Assert.DoesNotContain(secret, await Page.ContentAsync());
        await ScreenshotAsync("audit-before-after");

        await Id("audit-dialog-close").ClickAsync();
        await Expect(Id("audit-dialog")).ToHaveCountAsync(0);
        Assert.Empty(await ErrorSnackbarsAsync());
    }
}
