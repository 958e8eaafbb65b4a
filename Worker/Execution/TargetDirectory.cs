using AspireBatch.Data;
using AspireBatch.Data.Domain;
using AspireBatch.Data.Services;
using AspireBatch.Worker.Limits;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AspireBatch.Worker.Execution;

/// <summary>A provider's model ready to call: where, with which key (decrypted only in memory), at what price.</summary>
public sealed record CallTarget(
    Guid ProviderId,
    string ProviderName,
    Uri BaseUrl,
    string? ApiKey,
    string Model,
    decimal InputPricePerMTok,
    decimal OutputPricePerMTok,
    TimeSpan Timeout,
    TimeSpan ConnectTimeout,
    int? RequestsPerMinute = null,
    int? TokensPerMinute = null,
    int? MaxConcurrency = null,
    int? ModelRequestsPerMinute = null,
    int? ModelTokensPerMinute = null,
    decimal? CachedInputPricePerMTok = null,
    int? RoutePosition = null,
    bool SupportsNativeBatch = false,
    decimal BatchInputPricePerMTok = 0,
    decimal BatchOutputPricePerMTok = 0)
{
    public string Describe => $"{ProviderName}/{Model}";
}

/// <summary>
/// Providers, prices and routes, reloaded every few seconds so edits (a new key, a price, a rollback) reach running
/// jobs without a restart.
/// </summary>
public sealed class TargetDirectory(
    IServiceScopeFactory scopes, ProviderKeyProtector keys, LiveLimits limits, IOptions<WorkerOptions> options, TimeProvider time, ILogger<TargetDirectory> logger)
{
    private sealed record Snapshot(
        IReadOnlyDictionary<(Guid Provider, string Model), CallTarget> Targets,
        IReadOnlyDictionary<Guid, RouteSnapshot> Routes,
        DateTimeOffset LoadedAt);

    public sealed record RouteSnapshot(Guid Id, string Name, int ActivePosition, IReadOnlyList<(Guid Provider, string Model, int Weight)> Targets);

    private Snapshot? _snapshot;
    private readonly SemaphoreSlim _reload = new(1, 1);

    /// <summary>
    /// The targets a job's item tries in order: the route's active target, then the ones after it; on a weighted route
    /// the first is drawn by weight from <paramref name="itemId"/> (see <see cref="WeightedChain"/>).
    /// </summary>
    public async Task<IReadOnlyList<CallTarget>> ChainAsync(Guid? routeId, Guid? providerId, string? model, long itemId, CancellationToken cancellationToken)
    {
        var chain = Chain(await CurrentAsync(cancellationToken), routeId, providerId, model, itemId);
        if (chain.Count == 0)
        {
            // A route or provider created a moment ago is not in the copy yet: look again before failing the item.
            _snapshot = null;
            chain = Chain(await CurrentAsync(cancellationToken), routeId, providerId, model, itemId);
        }
        return chain;
    }

    /// <summary>One provider's model as the catalog has it now (a provider batch's target); null once disabled or removed.</summary>
    public async Task<CallTarget?> TargetAsync(Guid providerId, string model, CancellationToken cancellationToken) =>
        (await CurrentAsync(cancellationToken)).Targets.GetValueOrDefault((providerId, model));

    /// <summary>The next chain asked for reloads the catalog first (a route, provider or price changed).</summary>
    public void MarkStale() => _snapshot = null;

    /// <summary>Reloads the catalog when the copy is older than the refresh interval, calls or no calls.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken) => await CurrentAsync(cancellationToken);

    private static IReadOnlyList<CallTarget> Chain(Snapshot snapshot, Guid? routeId, Guid? providerId, string? model, long itemId)
    {
        if (routeId is { } id && snapshot.Routes.TryGetValue(id, out var route))
        {
            // Only targets that can be called take part in the draw: a disabled provider's share goes to the others.
            var candidates = route.Targets
                .Select((t, position) => snapshot.Targets.GetValueOrDefault((t.Provider, t.Model)) is { } target
                    ? new ChainCandidate<CallTarget>(position, t.Weight, target with { RoutePosition = position })
                    : (ChainCandidate<CallTarget>?)null)
                .OfType<ChainCandidate<CallTarget>>().ToList();
            return WeightedChain.Compose(candidates, route.ActivePosition, itemId);
        }
        return providerId is { } p && model is not null && snapshot.Targets.TryGetValue((p, model), out var target) ? [target] : [];
    }

    private async Task<Snapshot> CurrentAsync(CancellationToken cancellationToken)
    {
        var snapshot = _snapshot;
        if (snapshot is not null && time.GetUtcNow() - snapshot.LoadedAt < TimeSpan.FromSeconds(options.Value.CatalogRefreshSeconds))
        {
            return snapshot;
        }
        await _reload.WaitAsync(cancellationToken);
        try
        {
            if (_snapshot is { } fresh && time.GetUtcNow() - fresh.LoadedAt < TimeSpan.FromSeconds(options.Value.CatalogRefreshSeconds))
            {
                return fresh;
            }
            try
            {
                _snapshot = await LoadAsync(cancellationToken);
            }
            catch (Exception e) when (snapshot is not null && e is not OperationCanceledException)
            {
                // Keep working on the last known catalog while the database is briefly away.
                logger.LogWarning(e, "Could not reload providers and routes; using the copy from {LoadedAt}", snapshot.LoadedAt);
                _snapshot = snapshot with { LoadedAt = time.GetUtcNow() };
            }
            return _snapshot!;
        }
        finally
        {
            _reload.Release();
        }
    }

    private async Task<Snapshot> LoadAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<BatchDbContext>();
        var providers = await db.Providers.AsNoTracking().Include(p => p.Models).Where(p => p.Enabled).ToListAsync(cancellationToken);
        var routes = await db.Routes.AsNoTracking().Include(r => r.Targets).ToListAsync(cancellationToken);
        var targets = new Dictionary<(Guid, string), CallTarget>();
        foreach (var provider in providers)
        {
            var key = provider.EncryptedApiKey is { } encrypted ? keys.Unprotect(encrypted) : null;
            var baseUrl = new Uri(provider.BaseUrl.TrimEnd('/') + "/");
            foreach (var model in provider.Models)
            {
                targets[(provider.Id, model.Name)] = new CallTarget(provider.Id, provider.Name, baseUrl, key, model.Name,
                    model.InputPricePerMTok, model.OutputPricePerMTok,
                    TimeSpan.FromSeconds(provider.TimeoutSeconds), TimeSpan.FromSeconds(provider.ConnectTimeoutSeconds),
                    provider.RequestsPerMinute, provider.TokensPerMinute, provider.MaxConcurrency, model.RequestsPerMinute, model.TokensPerMinute,
                    model.CachedInputPricePerMTok, SupportsNativeBatch: provider.SupportsNativeBatch,
                    BatchInputPricePerMTok: Pricing.BatchPrice(model.InputPricePerMTok, model.BatchInputPricePerMTok, provider.BatchDiscountPercent),
                    BatchOutputPricePerMTok: Pricing.BatchPrice(model.OutputPricePerMTok, model.BatchOutputPricePerMTok, provider.BatchDiscountPercent));
            }
        }
        limits.SetTargets(targets);
        var routeSnapshots = routes.ToDictionary(r => r.Id, r => new RouteSnapshot(r.Id, r.Name, r.ActiveTargetPosition,
            r.Targets.OrderBy(t => t.Position).Select(t => (t.ProviderId, t.ModelName, t.Weight)).ToList()));
        return new Snapshot(targets, routeSnapshots, time.GetUtcNow());
    }
}
