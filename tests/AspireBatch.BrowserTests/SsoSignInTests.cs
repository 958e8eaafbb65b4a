using System.Net.Http.Json;
using AspireBatch.Contracts;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

/// <summary>
/// Single sign-on through an OpenID Connect provider (code flow with PKCE): a person with an account of the provider's
/// name signs in with its role; a person without one is turned back with the reason and no session.
/// </summary>
public sealed class SsoSignInTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    [Fact]
    public async Task A_person_with_an_account_signs_in_at_the_provider_and_one_without_is_turned_back()
    {
        var name = $"sso-{Guid.NewGuid().ToString("N")[..6]}";
        var created = await Stack.Api.PostAsJsonAsync("/api/users", new CreateAccountRequest(name, "Sso-Pass1!" + Guid.NewGuid(), AccountRoles.Operator));
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());

        Stack.Sso.NextUser = name;
        await Page.GotoAsync("/login");
        await Expect(Id("login-sso")).ToHaveTextAsync("Sign in with Test SSO");
        await Id("login-sso").ClickAsync();
        await Page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/", new() { WaitUntil = WaitUntilState.Commit });
        await WaitForCircuitAsync();
        await Expect(Id("signed-in-user")).ToHaveTextAsync(name);
        // An operator: no admin pages.
        await Expect(Id("nav-users")).ToHaveCountAsync(0);
        var account = (await Stack.Api.GetFromJsonAsync<List<AccountDto>>("/api/users"))!.Single(a => a.UserName == name);
        Assert.NotNull(account.LastSignInAt);

        await Page.GotoAsync("/logout");
        Stack.Sso.NextUser = $"stranger-{Guid.NewGuid().ToString("N")[..6]}";
        await Id("login-sso").ClickAsync();
        await Expect(Id("login-error")).ToContainTextAsync("no account has your name");
        await Page.GotoAsync("/jobs");
        await Expect(Id("login-form")).ToBeVisibleAsync();
    }
}
