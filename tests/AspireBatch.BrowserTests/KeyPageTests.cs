using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

/// <summary>The API keys page: a team key created with its scopes, its secret shown once and working, then revoked.</summary>
public sealed class KeyPageTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    [Fact]
    public async Task A_key_is_created_for_a_team_shown_once_works_and_is_revoked()
    {
        var team = $"ui-{Guid.NewGuid().ToString("N")[..6]}";
        await SignedInAtAsync("/keys");
        await Id("key-add").ClickAsync();
        await Field("key-name").FillAsync("nightly import");
        await Field("key-team").FillAsync(team);
        await Field("key-team").PressAsync("Tab");
        await Page.Locator("input[data-testid=key-scope-batches], [data-testid=key-scope-batches] input").First.CheckAsync();
        await Id("key-save").ClickAsync();

        await Expect(Id("key-secret")).ToHaveTextAsync(new Regex("^abk_[A-Za-z0-9_-]{43}$"));
        var secret = (await Id("key-secret").TextContentAsync())!.Trim();
        var row = Page.Locator("tr").Filter(new() { HasText = team });
        await Expect(row).ToContainTextAsync("jobs, batches");
        await Expect(row).ToContainTextAsync(secret[..12]);
        await Expect(row.GetByTestId("key-row-last-used")).ToHaveTextAsync("never");
        await ScreenshotAsync("keys-created");

        // The secret works against the Api, for this team only.
        using var client = new HttpClient { BaseAddress = Stack.Api.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/jobs")).StatusCode);

        // Shown once: a reload lists the key without its secret.
        await Page.ReloadAsync();
        await WaitForCircuitAsync();
        await Expect(Id("key-secret")).ToHaveCountAsync(0);
        Assert.DoesNotContain(secret, await Page.ContentAsync());

        await row.GetByTestId("key-revoke").ClickAsync();
        await Id("confirm-yes").ClickAsync();
        await Expect(row.GetByTestId("key-revoked")).ToBeVisibleAsync();
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/jobs")).StatusCode);
    }
}
