using System.Net.Http.Json;
using AspireBatch.Contracts;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

/// <summary>
/// The Users page: an admin makes an account with a role; the new person signs in with it and sees what the role
/// allows (a viewer gets no Users page); a role change from the page reaches the Api; a weak password is refused
/// with Identity's reason.
/// </summary>
public sealed class UsersPageTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    [Fact]
    public async Task An_admin_creates_a_viewer_who_signs_in_and_cannot_open_the_users_page()
    {
        var name = $"vera-{Guid.NewGuid().ToString("N")[..6]}";
        await SignedInAtAsync("/users");
        await Expect(Id("user-table")).ToContainTextAsync(BrowserStackFixture.OperatorUser);

        // Identity's rules: refused with the reason, nothing created.
        await Id("user-add").ClickAsync();
        await Field("user-name").FillAsync(name);
        await Field("user-new-password").FillAsync("weak");
        await Field("user-new-password").PressAsync("Tab");
        await Page.GetByTestId("user-new-role-viewer").ClickAsync();
        await Id("user-save").ClickAsync();
        await Expect(Page.Locator(".mud-snackbar")).ToContainTextAsync("Passwords must be at least 6 characters");
        await Expect(Page.Locator("tr").Filter(new() { HasText = name })).ToHaveCountAsync(0);

        await Id("user-add").ClickAsync();
        await Field("user-name").FillAsync(name);
        await Field("user-new-password").FillAsync("Viewer-Pass1!");
        await Field("user-new-password").PressAsync("Tab");
        await Page.GetByTestId("user-new-role-viewer").ClickAsync();
        await Id("user-save").ClickAsync();
        var row = Page.Locator("tr").Filter(new() { HasText = name });
        await Expect(row.GetByTestId("user-row-state")).ToHaveTextAsync("active");
        await Expect(row.Locator("input").First).ToHaveValueAsync(AccountRoles.Viewer);
        await ScreenshotAsync("users-created");

        // The viewer signs in and sees no admin pages.
        await Page.GotoAsync("/logout");
        await SubmitSignInAsync(name, "Viewer-Pass1!");
        await Page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/", new() { WaitUntil = WaitUntilState.Commit });
        await WaitForCircuitAsync();
        await Expect(Id("signed-in-user")).ToHaveTextAsync(name);
        await Expect(Id("nav-users")).ToHaveCountAsync(0);
        await Expect(Id("nav-keys")).ToHaveCountAsync(0);
        await GotoAsync("/users");
        await Expect(Id("not-allowed")).ToBeVisibleAsync();
        await Expect(Id("user-table")).ToHaveCountAsync(0);

        // Back as admin: the role changes from the page, and the Api has it.
        await Page.GotoAsync("/logout");
        await SignedInAtAsync("/users");
        row = Page.Locator("tr").Filter(new() { HasText = name });
        await row.GetByTestId("user-role").ClickAsync();
        await Page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasTextRegex = new System.Text.RegularExpressions.Regex("^\\s*operator\\s*$") }).First.ClickAsync();
        await Expect(Page.Locator(".mud-snackbar")).ToContainTextAsync($"{name} is now operator");
        var accounts = (await Stack.Api.GetFromJsonAsync<List<AccountDto>>("/api/users"))!;
        Assert.Equal(AccountRoles.Operator, accounts.Single(a => a.UserName == name).Role);
        Assert.Empty(ConsoleErrors);
    }
}
