using System.Globalization;
using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Shared;
using AspireBatch.Dashboard.Formatting;
using Microsoft.AspNetCore.Components;
using MudBlazor;

namespace AspireBatch.Dashboard.Components.Pages.Rehearsals;

public partial class RehearsalDetail
{
    private const int RecordsPageSize = 20;

    private RehearsalDto? _rehearsal;
    private bool _notFound;
    private bool _acting;
    private HashSet<Guid> _jobIds = [];
    private PagedResult<RehearsalRecordDto>? _records;
    private bool _disagreementsOnly = true;
    private int _recordsPage = 1;
    private string? _recordsVersion;

    private string[] _labels = [];
    private string[] _candidateLabels = [];
    private ChartScale _costScale = ChartScale.ForUsd(0);
    private List<ChartSeries<double>> _costSeries = [];
    private BarChartOptions _costOptions = new() { ShowLegend = false };
    private string[] _latencyLabels = [];
    private List<ChartSeries<double>> _latencySeries = [];
    private BarChartOptions _latencyOptions = new() { ShowLegend = true };
    private List<ChartSeries<double>> _agreementSeries = [];
    private readonly BarChartOptions _agreementOptions = new() { ShowLegend = false, YAxisTicks = 20 };

    [Parameter] public Guid Id { get; set; }

    private bool IsRunning => _rehearsal?.State == RehearsalState.Running;

    private int PageCount => _records is null ? 0 : (int)Math.Ceiling(_records.TotalCount / (double)RecordsPageSize);

    protected override async Task OnInitializedAsync()
    {
        await LoadAsync();
        // A rehearsal is its targets' jobs: their live events move its progress.
        ReloadOnLiveEvents(e => e.JobId is { } job && _jobIds.Contains(job), LoadAsync);
        StartFallbackTimer(TimeSpan.FromSeconds(2), () => IsRunning);
    }

    private async Task LoadAsync()
    {
        var rehearsal = await CallAsync(token => Api.GetRehearsalAsync(Id, token), problem =>
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
        if (rehearsal is null)
        {
            return;
        }
        _rehearsal = rehearsal;
        _jobIds = rehearsal.Targets.Select(t => t.JobId).ToHashSet();
        BuildCharts(rehearsal);
        // The records page changes only when answers or disagreements do.
        var version = $"{rehearsal.State}|{rehearsal.Disagreements}|{string.Join(',', rehearsal.Targets.Select(t => t.Records - t.Unfinished))}";
        if (version != _recordsVersion)
        {
            _recordsVersion = version;
            await LoadRecordsAsync();
        }
    }

    private async Task LoadRecordsAsync()
    {
        if (await CallAsync(token => Api.GetRehearsalRecordsAsync(Id, _disagreementsOnly, _recordsPage, RecordsPageSize, token)) is { } records)
        {
            _records = records;
        }
    }

    private async Task OnDisagreementsOnlyChanged(bool value)
    {
        _disagreementsOnly = value;
        _recordsPage = 1;
        await LoadRecordsAsync();
    }

    private async Task OnRecordsPageChanged(int page)
    {
        _recordsPage = page;
        await LoadRecordsAsync();
    }

    private void BuildCharts(RehearsalDto rehearsal)
    {
        var targets = rehearsal.Targets;
        _labels = targets.Select(t => $"#{t.Position}").ToArray();

        _costScale = ChartScale.ForUsd(targets.Select(t => (double)(t.CostPer1kRecords ?? 0)).DefaultIfEmpty().Max());
        _costOptions = new BarChartOptions { ShowLegend = false, YAxisTicks = _costScale.Step };
        _costSeries = [new ChartSeries<double> { Name = "cost per 1k", Data = _costScale.Apply(targets.Select(t => (double)(t.CostPer1kRecords ?? 0))) }];

        // Bins are the same for every target; leading and trailing bins nobody fell in are left out.
        var bins = targets.SelectMany(t => t.LatencyHistogram).Select(b => b.UpToMs).Distinct().OrderBy(b => b < 0 ? int.MaxValue : b).ToList();
        var filled = bins.Where(b => targets.Any(t => t.LatencyHistogram.Any(x => x.UpToMs == b && x.Count > 0))).ToList();
        var used = filled.Count == 0 ? [] : bins.SkipWhile(b => b != filled[0]).TakeWhile(b => b != filled[^1]).Append(filled[^1]).ToList();
        _latencyLabels = used.Select((b, i) => b < 0 ? $"> {Format.Latency(used.Count > 1 ? used[i - 1] : 0)}" : $"≤ {Format.Latency(b)}").ToArray();
        _latencySeries = targets.Select(t => new ChartSeries<double>
        {
            Name = $"#{t.Position}",
            Data = used.Select(b => (double)(t.LatencyHistogram.FirstOrDefault(x => x.UpToMs == b)?.Count ?? 0)).ToArray(),
        }).ToList();
        _latencyOptions = new BarChartOptions { ShowLegend = true, YAxisTicks = ChartScale.NiceStep(targets.SelectMany(t => t.LatencyHistogram).Select(b => (double)b.Count).DefaultIfEmpty().Max()) };

        var candidates = targets.Where(t => !t.IsBaseline).ToList();
        _candidateLabels = candidates.Select(t => $"#{t.Position}").ToArray();
        _agreementSeries = [new ChartSeries<double> { Name = "agreement", Data = candidates.Select(t => Math.Round((t.AgreementWithBaseline ?? 0) * 100, 1)).ToArray() }];
    }

    private string LabelOf(int position) => _rehearsal?.Targets.FirstOrDefault(t => t.Position == position)?.Label ?? $"#{position}";

    /// <summary>The Api labels route targets "route NAME"; a route cannot be adopted into a route.</summary>
    private static bool IsRoute(RehearsalTargetReport target) => target.Label.StartsWith("route ", StringComparison.Ordinal);

    private static string SampleText(SampleRequest sample) => sample.Strategy switch
    {
        SampleStrategy.First => "first records",
        SampleStrategy.Stratified => $"stratified by {sample.Field} (seed {sample.Seed})",
        _ => $"random (seed {sample.Seed})",
    };

    private static string JudgeText(JudgeRequest judge) => judge.Kind switch
    {
        JudgeKind.None => "none",
        JudgeKind.Exact => "exact text",
        JudgeKind.Normalized => "normalized text",
        JudgeKind.JsonFields => $"JSON fields {string.Join(", ", judge.Fields ?? [])}",
        JudgeKind.Label => judge.Pattern is { } pattern ? $"label ({pattern})" : "label (first line)",
        _ => judge.Kind.ToString(),
    };

    private static string Short(string? text) => text is null ? "" : text.Length <= 160 ? text : text[..160] + "…";

    /// <summary>Red (0 %) to green (100 %) cells: disagreement stands out at a glance.</summary>
    private static string HeatStyle(double? value) => value is { } v
        ? $"background:hsl({(v * 120).ToString("0", CultureInfo.InvariantCulture)}, 65%, 85%)"
        : "";

    /// <summary>Darker with more records; the diagonal (agreement) green, the rest red.</summary>
    private static string CountStyle(int count, int max, bool diagonal) => count == 0
        ? ""
        : $"background:rgba({(diagonal ? "46,125,50" : "198,40,40")},{(0.12 + 0.5 * count / max).ToString("0.00", CultureInfo.InvariantCulture)})";

    private async Task CancelAsync()
    {
        if (await Dialogs.ConfirmAsync("Cancel the rehearsal?",
                "Its targets' jobs stop; what they answered stays in the comparison. This cannot be undone.", "Cancel rehearsal") is null)
        {
            return;
        }
        _acting = true;
        try
        {
            if (await CallAsync(token => Api.CancelRehearsalAsync(Id, token)) is { } cancelled)
            {
                _rehearsal = cancelled;
                BuildCharts(cancelled);
                Snackbar.Add("Cancelled.", Severity.Success);
            }
        }
        finally
        {
            _acting = false;
        }
    }

    private async Task AdoptAsync(RehearsalTargetReport target)
    {
        var parameters = new DialogParameters<AdoptDialog>
        {
            { d => d.RehearsalId, Id },
            { d => d.Candidate, target.Position },
            { d => d.CandidateLabel, target.Label },
        };
        var dialog = await Dialogs.ShowAsync<AdoptDialog>("Adopt", parameters, new DialogOptions { MaxWidth = MaxWidth.Medium, FullWidth = true, CloseOnEscapeKey = true });
        if (await dialog.Result is { Canceled: false, Data: RouteAdoptionDto adoption })
        {
            Snackbar.Add($"Adopted: {adoption.To} is now route {adoption.Route}'s primary.", Severity.Success);
            await LoadAsync();
        }
    }
}
