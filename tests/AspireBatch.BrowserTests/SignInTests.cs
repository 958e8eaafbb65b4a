using System.Text.RegularExpressions;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

public sealed class SignInTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    [Fact]
    public async Task Wrong_password_is_refused_right_one_opens_the_overview_and_sign_out_returns_to_login()
    {
        // Every page needs the sign-in.
        await Page.GotoAsync("/jobs");
        await Page.WaitForURLAsync(new Regex("/login"));
        await Expect(Id("login-form")).ToBeVisibleAsync();

        await SubmitSignInAsync(BrowserStackFixture.OperatorUser, "not-the-password");
        await Expect(Id("login-error")).ToBeVisibleAsync();
        await Expect(Id("login-error")).ToContainTextAsync("Wrong user name or password");
        Assert.Contains("/login", Page.Url);

        await SignInAsync();
        await Expect(Id("page-title")).ToHaveTextAsync("Overview");
        await Expect(Id("signed-in-user")).ToHaveTextAsync(BrowserStackFixture.OperatorUser);
        await ScreenshotAsync("signin-overview");

        await Id("nav-signout").ClickAsync();
        await Page.WaitForURLAsync(new Regex("/login"));
        await Expect(Id("login-signed-out")).ToBeVisibleAsync();

        // Signed out means signed out: pages send back to the sign-in.
        await Page.GotoAsync("/jobs");
        await Page.WaitForURLAsync(new Regex("/login"));
        await Expect(Id("login-form")).ToBeVisibleAsync();
    }
}
