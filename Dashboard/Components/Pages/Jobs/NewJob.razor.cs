using AspireBatch.Dashboard.Api;
using AspireBatch.Dashboard.Infrastructure;
using AspireBatch.Contracts;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Forms;
using Microsoft.Extensions.Options;
using MudBlazor;

namespace AspireBatch.Dashboard.Components.Pages.Jobs;

public partial class NewJob
{
    private readonly JobForm _form = new();
    private CatalogDto? _catalog;
    private UploadedFile? _file;
    private string? _uploadName;
    private long _uploaded;
    private long _uploadTotal;
    private bool _busy;
    private TemplatePreview? _preview;
    private ApiProblem? _problem;
    private long _maxUploadBytes;
    private bool _ready;
    private ResolvedName? _resolved;
    private string? _unknownModel;
    private CancellationTokenSource? _resolving;
    private string? _schemaFile;

    /// <summary>A schema file is a few KB; anything near this is not one.</summary>
    private const long MaxSchemaBytes = 512 * 1024;

    /// <summary>How long the model field stays still before the Api is asked what it names.</summary>
    private static readonly TimeSpan ResolveDelay = TimeSpan.FromMilliseconds(250);

    [Inject] private NavigationManager Navigation { get; set; } = default!;
    [Inject] private IOptions<DashboardOptions> Options { get; set; } = default!;

    private double UploadPercent => _uploadTotal == 0 ? 0 : Math.Floor(100.0 * _uploaded / _uploadTotal);

    private string ModelHelp => _catalog is null
        ? "Loading the catalog…"
        : _resolved is { } resolved && resolved.Name == _form.Model
            ? Explain(resolved)
            : _unknownModel is not null && _unknownModel == _form.Model
                ? "not a known model, alias or route"
                : $"{_catalog.Models.Select(m => m.Name).Distinct().Count()} models, {_catalog.Aliases.Count} aliases, {_catalog.Routes.Count} routes: start typing";

    /// <summary>One line for what the Api resolved a name to: the route's targets, or the provider and price the job runs on.</summary>
    public static string Explain(ResolvedName resolved)
    {
        static string Price(decimal? input, decimal? output) => input is { } i && output is { } o ? $" ${i:0.####}/${o:0.####} per M" : "";
        return resolved.Kind switch
        {
            NameKinds.Route => "route: " + string.Join(", then ", resolved.RouteTargets.Select(t =>
                $"{t.ProviderName}/{t.ModelName}{Price(t.InputPricePerMTok, t.OutputPricePerMTok)}{(t.Active ? " (active)" : "")}")),
            NameKinds.Alias => $"alias of {resolved.ModelName}: {resolved.ProviderName}{Price(resolved.InputPricePerMTok, resolved.OutputPricePerMTok)}",
            _ => $"{resolved.ProviderName}{Price(resolved.InputPricePerMTok, resolved.OutputPricePerMTok)}",
        };
    }

    /// <summary>Asks the Api what the typed name resolves to, a moment after the last keystroke; a later keystroke cancels the question.</summary>
    private async Task ResolveModelAsync()
    {
        _resolving?.Cancel();
        var name = _form.Model;
        if (string.IsNullOrWhiteSpace(name))
        {
            (_resolved, _unknownModel) = (null, null);
            return;
        }
        using var resolving = CancellationTokenSource.CreateLinkedTokenSource(Aborted);
        _resolving = resolving;
        try
        {
            await Task.Delay(ResolveDelay, resolving.Token);
            (_resolved, _unknownModel) = (await Api.ResolveNameAsync(name, resolving.Token), null);
        }
        catch (ApiProblemException e) when (e.Problem.Status == 404)
        {
            (_resolved, _unknownModel) = (null, name);
        }
        catch (ApiProblemException)
        {
            // The help line is a hint: the import itself says what is wrong with a name.
            (_resolved, _unknownModel) = (null, null);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        finally
        {
            if (_resolving == resolving)
            {
                _resolving = null;
            }
        }
        StateHasChanged();
    }

    protected override async Task OnInitializedAsync()
    {
        _maxUploadBytes = Options.Value.MaxUploadBytes;
        _catalog = await CallAsync(Api.GetCatalogAsync);
    }

    protected override void OnAfterRender(bool firstRender)
    {
        if (firstRender)
        {
            // The file input's JS was initialised in this render; the next render tells browser tests so.
            _ready = true;
            StateHasChanged();
        }
    }

    /// <summary>Routes first, then aliases, then models: what a job may name, each with the catalog list it comes from.</summary>
    private IEnumerable<(string Name, string Label)> ModelOptions => _catalog is null
        ? []
        : _catalog.Routes.Select(r => (r, "route"))
            .Concat(_catalog.Aliases.Select(a => (a.Alias, $"alias of {a.ModelName}")))
            .Concat(_catalog.Models.Select(m => (m.Name, "model")))
            .DistinctBy(o => o.Item1, StringComparer.Ordinal);

    /// <summary>A schema file becomes the response format (json_schema, strict); the field shows it and stays editable.</summary>
    private async Task OnSchemaChosenAsync(IBrowserFile? file)
    {
        if (file is null)
        {
            return;
        }
        try
        {
            using var reader = new StreamReader(file.OpenReadStream(MaxSchemaBytes, Aborted));
            var (format, error) = JobForm.SchemaResponseFormat(file.Name, await reader.ReadToEndAsync(Aborted));
            if (error is not null)
            {
                Snackbar.Add(error, Severity.Warning);
                return;
            }
            _form.ResponseFormat = format;
            _schemaFile = file.Name;
            _preview = null;
        }
        catch (IOException e)
        {
            Snackbar.Add($"{file.Name} could not be read: {e.Message}", Severity.Error);
        }
    }

    private async Task OnFileChosenAsync(IBrowserFile? file)
    {
        if (file is null)
        {
            return;
        }
        if (file.Size > _maxUploadBytes)
        {
            Snackbar.Add($"{file.Name} is {Formatting.Format.Bytes(file.Size)}; the limit is {Formatting.Format.Bytes(_maxUploadBytes)}.", Severity.Warning);
            return;
        }
        if (_file is not null)
        {
            await _file.DisposeAsync();
            _file = null;
        }
        _busy = true;
        _preview = null;
        _problem = null;
        _uploadName = file.Name;
        _uploaded = 0;
        _uploadTotal = Math.Max(1, file.Size);
        var lastRender = DateTime.UtcNow;
        try
        {
            _file = await UploadedFile.SaveAsync(file, _maxUploadBytes, copied =>
            {
                _uploaded = copied;
                if (DateTime.UtcNow - lastRender > TimeSpan.FromMilliseconds(200))
                {
                    lastRender = DateTime.UtcNow;
                    StateHasChanged();
                }
            }, Aborted);
            _uploaded = _uploadTotal;
            if (_form.Format is null && file.Name.EndsWith(".csv", StringComparison.OrdinalIgnoreCase))
            {
                _form.Format = "csv";
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            _uploadTotal = 0;
            Snackbar.Add($"The upload of {file.Name} failed: {e.Message}", Severity.Error);
        }
        finally
        {
            _busy = false;
        }
    }

    private async Task PreviewAsync()
    {
        if (_file is null)
        {
            return;
        }
        _busy = true;
        _problem = null;
        try
        {
            await using var content = _file.OpenRead();
            _preview = await CallAsync(token => Api.PreviewJobAsync(_form, content, _file.Name, token), problem => _problem = problem);
            if (_preview is not null)
            {
                Snackbar.Add($"{Formatting.Format.Number(_preview.Estimate.Items)} records read; at most {Formatting.Format.Usd(_preview.Estimate.CostBoundUsd)}.", Severity.Info);
            }
        }
        finally
        {
            _busy = false;
        }
    }

    private async Task SubmitAsync()
    {
        if (_file is null)
        {
            return;
        }
        _busy = true;
        _problem = null;
        try
        {
            await using var content = _file.OpenRead();
            var created = await CallAsync(token => Api.CreateJobAsync(_form, content, _file.Name, token), problem => _problem = problem);
            if (created is not null)
            {
                Snackbar.Add($"Job created: {Formatting.Format.Number(created.Estimate.Items)} items, at most {Formatting.Format.Usd(created.Estimate.CostBoundUsd)}.", Severity.Success);
                Navigation.NavigateTo($"/jobs/{created.Job.Id}");
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
