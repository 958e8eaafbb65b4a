using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Layout;
using AspireBatch.Dashboard.Components.Shared;
using AspireBatch.Dashboard.Formatting;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace AspireBatch.Dashboard.Tests;

public sealed class ComponentTests : DashboardContext
{
    [Fact]
    public async Task Confirm_dialog_requires_a_reason_when_asked()
    {
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();
        Task<string?>? answer = null;
        // A statement lambda: InvokeAsync must not await the dialog, which only closes when a button is clicked.
        await provider.InvokeAsync(() => { answer = dialogs.ConfirmAsync("Roll back?", "Calls move to the fallback.", "Roll back", askReason: true); });

        var yes = provider.Find("[data-testid=confirm-yes]");
        Assert.True(yes.HasAttribute("disabled"));
        Assert.Equal("Calls move to the fallback.", provider.Find("[data-testid=confirm-message]").TextContent);

        provider.Find("[data-testid=confirm-reason]").Input("latency too high");
        provider.Find("[data-testid=confirm-yes]").Click();
        Assert.Equal("latency too high", await answer!);
    }

    [Fact]
    public async Task Cancelling_a_confirmation_returns_null()
    {
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();
        Task<string?>? answer = null;
        await provider.InvokeAsync(() => { answer = dialogs.ConfirmAsync("Cancel job?", "Pending items will not run.", "Cancel job"); });
        provider.Find("[data-testid=confirm-cancel]").Click();
        Assert.Null(await answer!);
    }

    [Fact]
    public void Test_ids_reach_the_elements_a_browser_test_drives()
    {
        var authorization = AddAuthorization();
        authorization.SetAuthorized("vera");
        authorization.SetRoles(AccountRoles.Viewer);
        // MudTextField hands unmatched attributes to its <input>, so a test can fill [data-testid=...] directly.
        var field = Render<MudTextField<string>>(p => p.AddUnmatched("data-testid", "user-template"));
        Assert.Equal("INPUT", field.Find("[data-testid=user-template]").TagName);

        var nav = Render<NavMenu>();
        Assert.NotNull(nav.Find("[data-testid=nav-new-job]"));
        Assert.Contains("/logout", nav.Find("[data-testid=nav-signout]").OuterHtml);
        // Keys and users are admin pages: a viewer's menu leaves them out, an admin's has them.
        Assert.Empty(nav.FindAll("[data-testid=nav-users]"));
        authorization.SetRoles(AccountRoles.Admin);
        nav = Render<NavMenu>();
        Assert.NotNull(nav.Find("[data-testid=nav-users]"));
        Assert.NotNull(nav.Find("[data-testid=nav-keys]"));
    }

    [Fact]
    public void Local_time_follows_the_browser_zone()
    {
        var clock = Services.GetRequiredService<BrowserClock>();
        var time = Render<LocalTime>(p => p.Add(c => c.Value, new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero)));
        Assert.Equal("2025-06-01 12:00:00", time.Find("span").TextContent);
        Assert.Equal("2025-06-01 12:00:00Z", time.Find("span").GetAttribute("title"));
        Assert.False(clock.Known);
    }
}
