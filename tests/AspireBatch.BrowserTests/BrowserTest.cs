using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace AspireBatch.BrowserTests;

/// <summary>
/// One fresh browser context (own cookies) and page per test, against the dashboard of the shared stack.
/// Helpers wait for the Blazor circuit before anything is clicked: clicks made earlier are dropped.
/// </summary>
public abstract class BrowserTest(BrowserStackFixture stack) : IAsyncLifetime
{
    /// <summary>Long enough for a cold page, a circuit and an Api call on a busy 2-core machine.</summary>
    public static readonly TimeSpan PageTimeout = TimeSpan.FromSeconds(60);
    public static readonly TimeSpan JobTimeout = TimeSpan.FromMinutes(2);

    private readonly List<string> _consoleErrors = [];

    protected BrowserStackFixture Stack => stack;
    protected IBrowserContext Context { get; private set; } = null!;
    protected IPage Page { get; private set; } = null!;

    /// <summary>Errors the page wrote to the browser console or threw, for failure messages.</summary>
    protected IReadOnlyList<string> ConsoleErrors => _consoleErrors;

    public virtual async ValueTask InitializeAsync()
    {
        await stack.ResetSimulatorsAsync();
        Context = await stack.Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = stack.DashboardUrl.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = 1440, Height = 900 },
            Locale = "en-US",
            TimezoneId = "Europe/Berlin",
        });
        Context.SetDefaultTimeout((float)PageTimeout.TotalMilliseconds);
        Context.SetDefaultNavigationTimeout((float)PageTimeout.TotalMilliseconds);
        // Expectations wait for server round trips (upload, validation, Api calls); CI machines are shared and slow.
        Assertions.SetDefaultExpectTimeout((float)PageTimeout.TotalMilliseconds);
        Page = await Context.NewPageAsync();
        Page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (_consoleErrors)
                {
                    _consoleErrors.Add(message.Text);
                }
            }
        };
        Page.PageError += (_, error) =>
        {
            lock (_consoleErrors)
            {
                _consoleErrors.Add("page error: " + error);
            }
        };
    }

    public virtual async ValueTask DisposeAsync()
    {
        // A failing test leaves a picture of what the operator would have seen.
        var state = TestContext.Current.TestState;
        if (state is null || state.Result != TestResult.Passed)
        {
            var name = TestContext.Current.Test?.TestDisplayName ?? GetType().Name;
            await ScreenshotAsync("failed-" + name);
        }
        await Context.CloseAsync();
        await stack.ResetSimulatorsAsync();
    }

    protected ILocator Id(string testId) => Page.GetByTestId(testId);

    /// <summary>The input (or textarea) of a MudBlazor field marked with <paramref name="testId"/>, wherever the attribute landed.</summary>
    protected ILocator Field(string testId) =>
        Page.Locator($"input[data-testid='{testId}'], textarea[data-testid='{testId}'], [data-testid='{testId}'] input:not([type=hidden]), [data-testid='{testId}'] textarea").First;

    /// <summary>Waits for the interactive circuit of the page just loaded.</summary>
    protected Task WaitForCircuitAsync() =>
        Page.Locator("#circuit-ready[data-ready=true]").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Attached });

    /// <summary>A full page load of <paramref name="path"/>, then the circuit.</summary>
    protected async Task GotoAsync(string path)
    {
        await Page.GotoAsync(path);
        await WaitForCircuitAsync();
    }

    /// <summary>Fills and posts the sign-in form.</summary>
    protected async Task SubmitSignInAsync(string user, string password)
    {
        await Page.GotoAsync("/login");
        await Id("login-user").FillAsync(user);
        await Id("login-password").FillAsync(password);
        await Id("login-submit").ClickAsync();
    }

    /// <summary>Signs in as the operator and waits for the Overview's circuit.</summary>
    protected async Task SignInAsync()
    {
        await SubmitSignInAsync(BrowserStackFixture.OperatorUser, BrowserStackFixture.OperatorPassword);
        // Only the redirect matters here; the circuit marker below says when the page is ready.
        await Page.WaitForURLAsync(url => new Uri(url).AbsolutePath == "/", new() { WaitUntil = WaitUntilState.Commit });
        await WaitForCircuitAsync();
    }

    /// <summary>Signs in, then loads <paramref name="path"/> and waits for its circuit.</summary>
    protected async Task SignedInAtAsync(string path)
    {
        await SignInAsync();
        await GotoAsync(path);
    }

    /// <summary>Opens a MudSelect and picks the option whose text is <paramref name="option"/>.</summary>
    protected async Task SelectAsync(string testId, string option)
    {
        await Field(testId).ClickAsync();
        var item = Page.Locator(".mud-popover-open .mud-list-item").Filter(new LocatorFilterOptions { HasTextRegex = new Regex($"^\\s*{Regex.Escape(option)}\\s*$") });
        await item.First.ClickAsync();
        await Page.Locator(".mud-popover-open .mud-list-item").First.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Hidden });
    }

    /// <summary>Waits until no indeterminate loading bar shows (the closed item drawer keeps one, unseen).</summary>
    protected Task WaitForLoadedAsync() =>
        Page.WaitForFunctionAsync("() => [...document.querySelectorAll('.mud-progress-indeterminate')].every(e => e.closest('.mud-drawer--closed'))");

    /// <summary>Snackbars on screen with their severity (MudBlazor's mud-alert-{variant}-{severity} class), e.g. "error: The Api cannot be reached".</summary>
    protected async Task<IReadOnlyList<string>> SnackbarsAsync() =>
        await Page.Locator(".mud-snackbar").EvaluateAllAsync<string[]>(
            "els => els.map(e => ((e.className.match(/mud-alert-[a-z]+-([a-z]+)/) || [])[1] || '?') + ': ' + e.innerText.trim())");

    /// <summary>Error and warning snackbars on screen (Api problems show as these), as text.</summary>
    protected async Task<IReadOnlyList<string>> ErrorSnackbarsAsync() =>
        (await SnackbarsAsync()).Where(s => s.StartsWith("error:") || s.StartsWith("warning:")).ToList();

    /// <summary>A full-page PNG under the test output's screenshots/ folder; returns its path.</summary>
    protected async Task<string> ScreenshotAsync(string name)
    {
        var safe = Regex.Replace(name, "[^A-Za-z0-9_.-]+", "-").Trim('-');
        if (safe.Length > 120)
        {
            safe = safe[..120];
        }
        var path = Path.Combine(BrowserStackFixture.ScreenshotDirectory, safe + ".png");
        try
        {
            // The app bar is fixed: scrolled pages would show it in the middle of a full-page picture.
            await Page.EvaluateAsync("() => window.scrollTo(0, 0)");
            await Page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true, Timeout = 30_000 });
        }
        catch (PlaywrightException e)
        {
            TestContext.Current.SendDiagnosticMessage($"screenshot {name} failed: {e.Message}");
        }
        return path;
    }
}
