using AspireBatch.Contracts;
using AspireBatch.Dashboard.Api;
using AspireBatch.Dashboard.Formatting;
using AspireBatch.Dashboard.Live;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace AspireBatch.Dashboard.Components.Shared;

/// <summary>
/// What every page shares: the Api client, Api problems shown as snackbars instead of exceptions,
/// live updates that reload the page's data (coalesced, so a burst of events causes one reload),
/// and an optional slow timer for when an event is missed. While live updates are paused (Redis away) that timer
/// polls every <see cref="PausedPollInterval"/>, and when they come back the page reloads once to catch up.
/// </summary>
public abstract class ApiPage : ComponentBase, IDisposable
{
    private readonly CancellationTokenSource _disposed = new();
    private IDisposable? _liveSubscription;
    private bool _fallbackStarted;
    private Func<Task>? _reload;
    private int _reloading;
    private int _reloadAgain;

    [Inject] protected BatchApiClient Api { get; set; } = default!;
    [Inject] protected ISnackbar Snackbar { get; set; } = default!;
    [Inject] protected LiveUpdates Live { get; set; } = default!;
    [Inject] protected BrowserClock Clock { get; set; } = default!;
    [Inject] protected IDialogService Dialogs { get; set; } = default!;
    [Inject] protected NavigationManager? SignInNavigation { get; set; }

    protected CancellationToken Aborted => _disposed.Token;

    /// <summary>Least time between two live reloads of one page.</summary>
    protected virtual TimeSpan MinReloadInterval => TimeSpan.FromMilliseconds(750);

    /// <summary>How often the fallback timer reloads while live updates are paused.</summary>
    public static readonly TimeSpan PausedPollInterval = TimeSpan.FromSeconds(2);

    protected override void OnInitialized()
    {
        Clock.Changed += OnClockChanged;
        Live.ConnectedChanged += OnLiveChanged;
    }

    /// <summary>Calls the Api; a problem becomes a snackbar (or the <paramref name="onProblem"/> handler) and the result is default.</summary>
    protected async Task<T?> CallAsync<T>(Func<CancellationToken, Task<T>> call, Action<ApiProblem>? onProblem = null)
    {
        try
        {
            return await call(Aborted);
        }
        catch (ApiProblemException e) when (e.Problem.Status == 401 && SignInNavigation is not null)
        {
            // The operator's sign-in ended (expired, password changed, account locked or deleted): sign in again.
            SignInNavigation.NavigateTo("/logout", forceLoad: true);
            return default;
        }
        catch (ApiProblemException e)
        {
            if (onProblem is not null)
            {
                onProblem(e.Problem);
            }
            else
            {
                Snackbar.Add(e.Problem.Summary, e.Problem.Status is >= 500 or 0 ? Severity.Error : Severity.Warning);
            }
            return default;
        }
        catch (OperationCanceledException) when (Aborted.IsCancellationRequested)
        {
            return default;
        }
    }

    /// <summary>Calls the Api for its effect; true when it succeeded.</summary>
    protected async Task<bool> CallAsync(Func<CancellationToken, Task> call, Action<ApiProblem>? onProblem = null) =>
        await CallAsync(async token => { await call(token); return true; }, onProblem);

    /// <summary>Reloads with <paramref name="reload"/> whenever a live event passes <paramref name="filter"/>.</summary>
    protected void ReloadOnLiveEvents(Func<LiveEvent, bool> filter, Func<Task> reload)
    {
        _reload = reload;
        _liveSubscription?.Dispose();
        _liveSubscription = Live.Subscribe(liveEvent => filter(liveEvent) ? RequestReloadAsync() : Task.CompletedTask);
    }

    /// <summary>
    /// Reloads every <paramref name="interval"/> (every <see cref="PausedPollInterval"/> while live updates are paused)
    /// while <paramref name="active"/> says so: progress still moves if an event is missed or Redis is away.
    /// </summary>
    protected void StartFallbackTimer(TimeSpan interval, Func<bool> active)
    {
        if (_fallbackStarted)
        {
            return;
        }
        _fallbackStarted = true;
        _ = RunFallbackAsync(interval, active);
    }

    private async Task RunFallbackAsync(TimeSpan interval, Func<bool> active)
    {
        try
        {
            while (!Aborted.IsCancellationRequested)
            {
                await Task.Delay(Live.Connected ? interval : PausedPollInterval, Aborted);
                if (active())
                {
                    await RequestReloadAsync();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The page went away.
        }
    }

    /// <summary>Runs the page's reload unless one is running; then one more runs after it, at most every <see cref="MinReloadInterval"/>.</summary>
    protected async Task RequestReloadAsync()
    {
        if (_reload is null || Aborted.IsCancellationRequested)
        {
            return;
        }
        if (Interlocked.Exchange(ref _reloading, 1) == 1)
        {
            Interlocked.Exchange(ref _reloadAgain, 1);
            return;
        }
        try
        {
            do
            {
                Interlocked.Exchange(ref _reloadAgain, 0);
                await InvokeAsync(_reload);
                await InvokeAsync(StateHasChanged);
                await Task.Delay(MinReloadInterval, Aborted);
            }
            while (Interlocked.CompareExchange(ref _reloadAgain, 0, 1) == 1 && !Aborted.IsCancellationRequested);
        }
        catch (OperationCanceledException)
        {
            // The page went away.
        }
        finally
        {
            Interlocked.Exchange(ref _reloading, 0);
        }
    }

    private void OnClockChanged() => _ = InvokeAsync(StateHasChanged);

    /// <summary>Events sent while the subscription was away are lost: reload once when it is back.</summary>
    private void OnLiveChanged(bool connected)
    {
        if (connected)
        {
            _ = RequestReloadAsync();
        }
    }

    public void Dispose()
    {
        Clock.Changed -= OnClockChanged;
        Live.ConnectedChanged -= OnLiveChanged;
        _liveSubscription?.Dispose();
        // Not disposed: pending calls still read the token after the page is gone.
        _disposed.Cancel();
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}
