using AspireBatch.Contracts;
using AspireBatch.Dashboard.Api;
using AspireBatch.Dashboard.Formatting;
using AspireBatch.Dashboard.Infrastructure;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.Options;
using MudBlazor;

namespace AspireBatch.Dashboard.Components.Pages.Rehearsals;

public partial class NewRehearsal
{
    private const string SourceJob = "job";
    private const string SourceUpload = "upload";
    private const string RoutePrefix = "route:";
    private const int MinTargets = 2;
    private const int MaxTargets = 5;

    private CatalogDto? _catalog;
    private List<JobDto> _jobs = [];
    private string _sourceKind = SourceJob;
    private Guid? _sourceJobId;
    private readonly JobForm _jobForm = new();
    private UploadedFile? _file;
    private bool _uploading;
    private long _maxUploadBytes;
    private string? _name;
    private int _sampleSize = 100;
    private SampleStrategy _strategy = SampleStrategy.Random;
    private int _seed = 1;
    private string? _field;
    private readonly List<string?> _targets = [null, null];
    private int _baseline;
    private JudgeKind _judge = JudgeKind.Normalized;
    private string? _judgeFields;
    private string? _judgePattern;
    private decimal? _budget;
    private long? _monthly;
    private bool _busy;
    private bool _ready;
    private ApiProblem? _problem;

    [SupplyParameterFromQuery(Name = "source")] public Guid? Source { get; set; }
    [Inject] private NavigationManager Navigation { get; set; } = default!;
    [Inject] private IOptions<DashboardOptions> Options { get; set; } = default!;

    private string SourceHelp => _jobs.FirstOrDefault(j => j.Id == _sourceJobId) is { } job
        ? $"{Format.Number(job.Counters.Total)} records, {job.RequestedModel}; the source job itself does not run"
        : "the latest 50 jobs";

    private static string JobLabel(JobDto job) =>
        $"{job.Name ?? job.Id.ToString()[..8]} · {Format.Number(job.Counters.Total)} records · {job.State}";

    // MudSelect shows a value's ToString in its input unless told otherwise: these show what the list shows.
    private string SourceLabel(Guid? id) => _jobs.FirstOrDefault(j => j.Id == id) is { } job ? JobLabel(job) : "";

    private string TargetLabel(string? value) => value is null ? "" : TargetOptions.FirstOrDefault(o => o.Value == value).Label ?? value;

    private static string StrategyLabel(SampleStrategy strategy) => strategy switch
    {
        SampleStrategy.First => "First N",
        _ => strategy.ToString(),
    };

    private static string JudgeLabel(JudgeKind kind) => kind switch
    {
        JudgeKind.None => "None",
        JudgeKind.Exact => "Exact text",
        JudgeKind.Normalized => "Normalized text",
        JudgeKind.JsonFields => "JSON fields",
        JudgeKind.Label => "Label",
        _ => kind.ToString(),
    };

    /// <summary>Routes first, then every provider's models: what a target may be, as the Api's catalog lists them.</summary>
    private IEnumerable<(string Value, string Label)> TargetOptions => _catalog is null
        ? []
        : _catalog.Routes.Order(StringComparer.Ordinal).Select(r => (RoutePrefix + r, $"route {r}"))
            .Concat(_catalog.Models.OrderBy(m => m.Provider, StringComparer.Ordinal).ThenBy(m => m.Name, StringComparer.Ordinal)
                .Select(m => ($"{m.Provider}/{m.Name}", $"{m.Provider}/{m.Name}")))
            .DistinctBy(o => o.Item1, StringComparer.Ordinal);

    protected override async Task OnInitializedAsync()
    {
        _maxUploadBytes = Options.Value.MaxUploadBytes;
        var catalog = CallAsync(Api.GetCatalogAsync);
        var jobs = CallAsync(token => Api.GetJobsAsync(new JobQuery(1, 50), token));
        _catalog = await catalog;
        _jobs = (await jobs)?.Items.ToList() ?? [];
        if (Source is { } source)
        {
            // A job from the job page's Rehearse button may be older than the latest 50.
            if (_jobs.All(j => j.Id != source) && await CallAsync(token => Api.GetJobAsync(source, token)) is { } job)
            {
                _jobs.Insert(0, job);
            }
            if (_jobs.FirstOrDefault(j => j.Id == source) is { } chosen)
            {
                _sourceJobId = chosen.Id;
                _targets[0] = TargetOf(chosen);
                _name = $"{chosen.Name ?? chosen.Id.ToString()[..8]} rehearsal";
            }
        }
    }

    /// <summary>The target a job runs on, so the baseline starts as what the source job runs on today.</summary>
    private string? TargetOf(JobDto job)
    {
        var options = TargetOptions.Select(o => o.Value).ToHashSet(StringComparer.Ordinal);
        string? target = job.RouteName is { } route ? RoutePrefix + route
            : job.ProviderName is { } provider && job.ModelName is { } model ? $"{provider}/{model}"
            : null;
        return target is not null && options.Contains(target) ? target : null;
    }

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender)
        {
            _ready = true;
            StateHasChanged();
        }
    }

    private void RemoveTarget(int index)
    {
        _targets.RemoveAt(index);
        if (_baseline >= _targets.Count || _baseline == index)
        {
            _baseline = 0;
        }
        else if (_baseline > index)
        {
            _baseline--;
        }
    }

    private static RehearsalTargetRequest ToTarget(string? choice, bool baseline)
    {
        if (choice is null)
        {
            return new RehearsalTargetRequest(Baseline: baseline);
        }
        if (choice.StartsWith(RoutePrefix, StringComparison.Ordinal))
        {
            return new RehearsalTargetRequest(Route: choice[RoutePrefix.Length..], Baseline: baseline);
        }
        var slash = choice.IndexOf('/');
        return new RehearsalTargetRequest(Provider: choice[..slash], Model: choice[(slash + 1)..], Baseline: baseline);
    }

    private RehearsalRequest BuildRequest()
    {
        var fields = _judgeFields?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        var judge = new JudgeRequest(_judge,
            _judge == JudgeKind.JsonFields ? fields : null,
            _judge == JudgeKind.Label && !string.IsNullOrWhiteSpace(_judgePattern) ? _judgePattern : null);
        var sample = new SampleRequest(_sampleSize, _strategy, _seed, _strategy == SampleStrategy.Stratified ? _field?.Trim() : null);
        return new RehearsalRequest(
            _sourceKind == SourceJob ? _sourceJobId : null,
            sample,
            _targets.Select((t, i) => ToTarget(t, i == _baseline)).ToList(),
            judge,
            _budget,
            _monthly,
            string.IsNullOrWhiteSpace(_name) ? null : _name.Trim());
    }

    private async Task OnFileChosenAsync(IBrowserFile? file)
    {
        if (file is null)
        {
            return;
        }
        if (file.Size > _maxUploadBytes)
        {
            Snackbar.Add($"{file.Name} is {Format.Bytes(file.Size)}; the limit is {Format.Bytes(_maxUploadBytes)}.", Severity.Warning);
            return;
        }
        if (_file is not null)
        {
            await _file.DisposeAsync();
            _file = null;
        }
        _uploading = true;
        _problem = null;
        try
        {
            _file = await UploadedFile.SaveAsync(file, _maxUploadBytes, _ => { }, Aborted);
            if (_jobForm.Format is null && file.Name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            {
                _jobForm.Format = "csv";
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            Snackbar.Add($"The upload of {file.Name} failed: {e.Message}", Severity.Error);
        }
        finally
        {
            _uploading = false;
        }
    }

    private async Task SubmitAsync()
    {
        if (_sourceKind == SourceJob && _sourceJobId is null)
        {
            _problem = new ApiProblem(400, "Choose a source job", "or switch the source to an upload", [], new Dictionary<string, string[]>());
            return;
        }
        _busy = true;
        _problem = null;
        try
        {
            var request = BuildRequest();
            RehearsalDto? created;
            if (_sourceKind == SourceUpload && _file is not null)
            {
                await using var content = _file.OpenRead();
                created = await CallAsync(token => Api.CreateRehearsalFromUploadAsync(_jobForm, request, content, _file.Name, token), problem => _problem = problem);
            }
            else
            {
                created = await CallAsync(token => Api.CreateRehearsalAsync(request, token), problem => _problem = problem);
            }
            if (created is not null)
            {
                Snackbar.Add($"Rehearsal started: {Format.Number(created.SampledItems)} records on {created.Targets.Count} targets.", Severity.Success);
                Navigation.NavigateTo($"/rehearsals/{created.Id}");
            }
        }
        finally
        {
            _busy = false;
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && _file is not null)
        {
            _ = _file.DisposeAsync().AsTask();
        }
    }
}
