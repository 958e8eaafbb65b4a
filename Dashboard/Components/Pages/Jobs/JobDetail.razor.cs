using AspireBatch.Contracts;
using AspireBatch.Dashboard.Api;
using AspireBatch.Dashboard.Components.Pages.Jobs.Components;
using AspireBatch.Dashboard.Components.Shared;
using AspireBatch.Dashboard.Formatting;
using AspireBatch.Dashboard.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.Options;
using MudBlazor;

namespace AspireBatch.Dashboard.Components.Pages.Jobs;

public partial class JobDetail
{
    private JobDto? _job;
    private bool _notFound;
    private bool _acting;
    private readonly JobSeries _series = new();
    private MudDataGrid<ItemSummaryDto>? _items;
    private ItemState? _itemState;
    private string? _errorCode;
    private bool _drawerOpen;
    private ItemDetailDto? _item;
    private DateTimeOffset _lastItemsReload = DateTimeOffset.MinValue;
    private HashSet<string> _seenErrorCodes = [];
    private string? _filterField;
    private string? _filterValue;
    private string? _exportFields;
    private string? _labelField;
    private FieldDistribution? _distribution;
    private string? _distributionError;
    private string[] _distributionLabels = [];
    private List<ChartSeries<double>> _distributionSeries = [];
    private BarChartOptions _distributionOptions = new() { ShowLegend = false };
    private DateTimeOffset _lastDistributionLoad = DateTimeOffset.MinValue;

    [Parameter] public Guid Id { get; set; }
    [Inject] private IOptions<DashboardOptions> Options { get; set; } = default!;

    private string? TraceUrl => _job?.TraceId is { Length: > 0 } traceId
        ? $"{Options.Value.AspireDashboardUrl.TrimEnd('/')}/traces/detail/{traceId}"
        : null;

    private static string FormatName(JobInputFormat format) => format switch
    {
        JobInputFormat.Jsonl => "JSONL",
        JobInputFormat.Csv => "CSV",
        JobInputFormat.OpenAiBatch => "OpenAI Batch",
        _ => format.ToString(),
    };

    /// <summary>The job's dedup option and what it saved: "auto", "on" or "off", and the duplicates answered once.</summary>
    private static string DedupText(JobDto job)
    {
        var option = job.Dedup switch { true => "on", false => "off", null => "auto" };
        return job.DeduplicatedItems > 0 ? $"{option}: {Formatting.Format.Number(job.DeduplicatedItems)} duplicates answered once" : $"{option}: no duplicates";
    }

    private bool IsActive => _job?.State is JobState.Running or JobState.Queued;

    protected override async Task OnInitializedAsync()
    {
        await LoadJobAsync();
        ReloadOnLiveEvents(e => e.JobId == Id, OnJobChangedAsync);
        StartFallbackTimer(TimeSpan.FromSeconds(5), () => IsActive);
    }

    private async Task LoadJobAsync()
    {
        var job = await CallAsync(token => Api.GetJobAsync(Id, token), problem =>
        {
            if (problem.Status == 404)
            {
                _notFound = true;
            }
            else
            {
                Snackbar.Add(problem.Summary, Severity.Warning);
            }
        });
        if (job is null)
        {
            return;
        }
        var changed = _job is null || _job.State != job.State || _job.Counters != job.Counters;
        if (_job is null)
        {
            // Typed columns start from what the schema declares; the chart from its first string field.
            _exportFields = job.AnswerFields is { Count: > 0 } declared ? string.Join(',', declared.Select(f => f.Path)) : null;
            _labelField = job.AnswerFields?.FirstOrDefault(f => f.Type == "string")?.Path;
        }
        var finished = _job is not null && _job.State != job.State;
        _job = job;
        // A distribution is a GROUP BY over the job's answers: not on every progress event.
        if (_distribution is null || finished || DateTimeOffset.UtcNow - _lastDistributionLoad > TimeSpan.FromSeconds(15))
        {
            await LoadDistributionAsync();
        }
        if (changed || job.State == JobState.Running || !_series.Loaded)
        {
            if (!_series.Loaded)
            {
                // Show the job while its charts load.
                StateHasChanged();
            }
            await LoadChartsAsync();
        }
    }

    /// <summary>
    /// The charts come from the Api's time series of the job's calls: the whole run when the page opens (or when the
    /// series outgrew its buckets), then only the last bucket and what came after it.
    /// </summary>
    private async Task LoadChartsAsync()
    {
        if (!_series.NeedsReload && _series.ResumeFrom is { } from)
        {
            if (await CallAsync(token => Api.GetJobTimeseriesAsync(Id, _series.BucketSeconds, from, token), _ => { }) is { } update)
            {
                _series.Merge(update);
            }
            return;
        }
        if (await CallAsync(token => Api.GetJobTimeseriesAsync(Id, null, null, token), _ => { }) is { } series)
        {
            _series.Load(series);
        }
    }

    private async Task OnJobChangedAsync()
    {
        var stateBefore = _job?.State;
        await LoadJobAsync();
        // The items grid pages on the server; refresh it now and then, not on every progress event, and whenever the job
        // changes state (a job that finishes within those seconds would otherwise keep showing its records running).
        if (_items is not null && (DateTimeOffset.UtcNow - _lastItemsReload > TimeSpan.FromSeconds(3) || _job?.State != stateBefore))
        {
            await _items.ReloadServerData();
        }
    }

    private async Task<GridData<ItemSummaryDto>> LoadItemsAsync(GridState<ItemSummaryDto> state, CancellationToken cancellationToken)
    {
        _lastItemsReload = DateTimeOffset.UtcNow;
        var byField = !string.IsNullOrWhiteSpace(_filterField) && !string.IsNullOrWhiteSpace(_filterValue);
        var query = new ItemQuery(state.Page + 1, state.PageSize, _itemState, string.IsNullOrWhiteSpace(_errorCode) ? null : _errorCode.Trim(),
            byField ? _filterField!.Trim() : null, byField ? _filterValue : null);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(Aborted, cancellationToken);
        var page = await CallAsync(_ => Api.GetItemsAsync(Id, query, linked.Token));
        if (page is null)
        {
            return new GridData<ItemSummaryDto> { Items = [], TotalItems = 0 };
        }
        foreach (var code in page.Items.Select(i => i.ErrorCode).OfType<string>())
        {
            _seenErrorCodes.Add(code);
        }
        return new GridData<ItemSummaryDto> { Items = page.Items, TotalItems = (int)Math.Min(page.TotalCount, int.MaxValue) };
    }

    private Task OnItemStateChanged(ItemState? state)
    {
        _itemState = state;
        return _items?.ReloadServerData() ?? Task.CompletedTask;
    }

    private Task OnErrorCodeChanged(string? code)
    {
        _errorCode = code;
        return _items?.ReloadServerData() ?? Task.CompletedTask;
    }

    private Task OnFilterFieldChanged(string? field)
    {
        _filterField = field;
        return _items?.ReloadServerData() ?? Task.CompletedTask;
    }

    private Task OnFilterValueChanged(string? value)
    {
        _filterValue = value;
        return _items?.ReloadServerData() ?? Task.CompletedTask;
    }

    private async Task OnLabelFieldChanged(string? field)
    {
        _labelField = field;
        await LoadDistributionAsync();
    }

    /// <summary>The bar chart of the chosen answer field's values over the succeeded items (top 20, the rest as "other").</summary>
    private async Task LoadDistributionAsync()
    {
        _lastDistributionLoad = DateTimeOffset.UtcNow;
        _distributionError = null;
        if (string.IsNullOrWhiteSpace(_labelField))
        {
            _distribution = null;
            return;
        }
        var field = _labelField.Trim();
        var distribution = await CallAsync(token => Api.GetFieldDistributionAsync(Id, field, token), problem => _distributionError = problem.Summary);
        _distribution = distribution;
        if (distribution is null)
        {
            return;
        }
        var bars = distribution.Values.Select(v => (v.Value, (double)v.Count)).ToList();
        if (distribution.Other > 0)
        {
            bars.Add(("(other)", distribution.Other));
        }
        _distributionLabels = bars.Select(b => b.Value.Length > 24 ? b.Value[..23] + "…" : b.Value).ToArray();
        _distributionOptions = new BarChartOptions { ShowLegend = false, YAxisTicks = ChartScale.NiceStep(bars.Select(b => b.Item2).DefaultIfEmpty().Max()) };
        _distributionSeries = [new ChartSeries<double> { Name = "items", Data = bars.Select(b => b.Item2).ToArray() }];
    }

    private async Task OnItemClickAsync(DataGridRowClickEventArgs<ItemSummaryDto> args)
    {
        _item = null;
        _drawerOpen = true;
        StateHasChanged();
        _item = await CallAsync(token => Api.GetItemAsync(Id, args.Item.Id, token));
        if (_item is null)
        {
            _drawerOpen = false;
        }
    }

    private Task PauseAsync() => ActAsync(token => Api.PauseJobAsync(Id, token), "Paused: calls in flight finish, no new ones start.");

    private Task ResumeAsync() => ActAsync(token => Api.ResumeJobAsync(Id, token), "Resumed.");

    private async Task CancelAsync()
    {
        var pending = _job?.Counters.Pending ?? 0;
        if (await Dialogs.ConfirmAsync("Cancel the job?",
                $"{Format.Number(pending)} pending items will not run. Finished results stay and can be exported. This cannot be undone.",
                "Cancel job") is null)
        {
            return;
        }
        await ActAsync(token => Api.CancelJobAsync(Id, token), "Cancelled.");
    }

    private async Task RetryFailedAsync()
    {
        if (_job is null)
        {
            return;
        }
        // Error codes seen in the grid, plus a sample of failed items so the picker has something to offer.
        var failedSample = await CallAsync(token => Api.GetItemsAsync(Id, new ItemQuery(1, 200, ItemState.Failed), token), _ => { });
        var codes = _seenErrorCodes.Concat(failedSample?.Items.Select(i => i.ErrorCode).OfType<string>() ?? []).Distinct().Order().ToList();
        var parameters = new DialogParameters<RetryFailedDialog>
        {
            { d => d.Failed, _job.Counters.Failed },
            { d => d.KnownCodes, codes },
        };
        var dialog = await Dialogs.ShowAsync<RetryFailedDialog>("Retry failed items", parameters, new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        if (result is not { Canceled: false, Data: string scope })
        {
            return;
        }
        _acting = true;
        try
        {
            var retried = await CallAsync(token => Api.RetryFailedAsync(Id, scope.Length == 0 ? null : scope, token));
            if (retried is not null)
            {
                Snackbar.Add($"{Format.Number(retried.Requeued)} failed items requeued{(scope.Length == 0 ? "" : $" (error code {scope})")}.", Severity.Success);
                await LoadJobAsync();
                if (_items is not null)
                {
                    await _items.ReloadServerData();
                }
            }
        }
        finally
        {
            _acting = false;
        }
    }

    private async Task MoveLeftoversAsync()
    {
        if (_job is null)
        {
            return;
        }
        var catalog = await CallAsync(Api.GetCatalogAsync, _ => { });
        var names = catalog is null ? [] : catalog.Routes.Concat(catalog.Aliases.Select(a => a.Alias)).Concat(catalog.Models.Select(m => m.Name)).Distinct().ToList();
        var parameters = new DialogParameters<MoveLeftoversDialog>
        {
            { d => d.Pending, _job.Counters.Pending },
            { d => d.Failed, _job.Counters.Failed },
            { d => d.KnownNames, names },
        };
        var dialog = await Dialogs.ShowAsync<MoveLeftoversDialog>("Move unanswered records", parameters, new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true, CloseOnEscapeKey = true });
        if (await dialog.Result is not { Canceled: false, Data: MoveLeftoversRequest request })
        {
            return;
        }
        _acting = true;
        try
        {
            if (await CallAsync(token => Api.MoveLeftoversAsync(Id, request, token)) is { } moved)
            {
                _job = moved.Job;
                Snackbar.Add($"{Format.Number(moved.Unanswered)} unanswered records go to {request.Model} ({Format.Number(moved.Requeued)} failed ones requeued).", Severity.Success);
            }
        }
        finally
        {
            _acting = false;
        }
    }

    private async Task EditSettingsAsync()
    {
        if (_job is null)
        {
            return;
        }
        var parameters = new DialogParameters<JobSettingsDialog>
        {
            { d => d.BudgetUsd, _job.BudgetUsd },
            { d => d.RequestsPerMinuteCap, _job.RequestsPerMinuteCap },
        };
        var dialog = await Dialogs.ShowAsync<JobSettingsDialog>("Budget and rate cap", parameters, new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true, CloseOnEscapeKey = true });
        if (await dialog.Result is { Canceled: false, Data: JobSettingsRequest request })
        {
            await ActAsync(token => Api.UpdateJobSettingsAsync(Id, request, token), "Settings saved.");
        }
    }

    private async Task ActAsync(Func<CancellationToken, Task<JobDto>> action, string done)
    {
        _acting = true;
        try
        {
            if (await CallAsync(action) is { } job)
            {
                _job = job;
                Snackbar.Add(done, Severity.Success);
            }
        }
        finally
        {
            _acting = false;
        }
    }
}
