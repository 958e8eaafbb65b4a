using AspireBatch.Data.Domain;
using AspireBatch.Contracts;
using AspireBatch.Data;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Services;

/// <summary>
/// What a job's name resolved to (<see cref="NameKinds"/>) and where its calls go: a route, or one provider's model; with
/// the price used for its estimate (0 where none is configured, <see cref="PriceKnown"/> false).
/// </summary>
public sealed record ResolvedTarget(
    string Kind,
    Guid? RouteId,
    string? RouteName,
    Guid? ProviderId,
    string? ProviderName,
    string ModelName,
    decimal InputPricePerMTok,
    decimal OutputPricePerMTok)
{
    public bool PriceKnown { get; init; } = true;

    /// <summary>The (active) target's provider sells native batches; then these are its batch prices.</summary>
    public bool SupportsNativeBatch { get; init; }
    public decimal BatchInputPricePerMTok { get; init; }
    public decimal BatchOutputPricePerMTok { get; init; }

    /// <summary>A route's targets in fallback order; empty for an alias or a model.</summary>
    public IReadOnlyList<ResolvedRouteTarget> RouteTargets { get; init; } = [];

    public string Describe => RouteName is not null ? $"route {RouteName} ({ProviderName}/{ModelName})" : $"{ProviderName}/{ModelName}";

    public ResolvedName ToDto(string name) => new(name, Kind, ProviderName ?? "", ModelName,
        PriceKnown ? InputPricePerMTok : null, PriceKnown ? OutputPricePerMTok : null, RouteTargets);
}

/// <summary>
/// Resolves what a job names (a route, then an alias, then a model); never silently swaps an unknown name. The one
/// resolver: the import and <c>GET /api/catalog/resolve</c> both ask it.
/// </summary>
public sealed class CatalogService(BatchDbContext db)
{
    public async Task<ResolvedTarget?> ResolveAsync(string name, CancellationToken cancellationToken)
    {
        var route = await db.Routes.AsNoTracking().Include(r => r.Targets).ThenInclude(t => t.Provider)
            .FirstOrDefaultAsync(r => r.Name == name, cancellationToken);
        if (route is not null)
        {
            var targets = route.Targets.OrderBy(t => t.Position).ToList();
            var active = targets.FirstOrDefault(t => t.Position >= route.ActiveTargetPosition) ?? targets.FirstOrDefault();
            if (active is null)
            {
                return null;
            }
            var providerIds = targets.Select(t => t.ProviderId).Distinct().ToList();
            var prices = (await db.ProviderModels.AsNoTracking().Where(m => providerIds.Contains(m.ProviderId)).ToListAsync(cancellationToken))
                .ToDictionary(m => (m.ProviderId, m.Name));
            var price = prices.GetValueOrDefault((active.ProviderId, active.ModelName));
            return new(NameKinds.Route, route.Id, route.Name, active.ProviderId, active.Provider?.Name, active.ModelName,
                price?.InputPricePerMTok ?? 0, price?.OutputPricePerMTok ?? 0)
            {
                PriceKnown = price is not null,
                SupportsNativeBatch = active.Provider?.SupportsNativeBatch == true,
                BatchInputPricePerMTok = Pricing.BatchPrice(price?.InputPricePerMTok ?? 0, price?.BatchInputPricePerMTok, active.Provider?.BatchDiscountPercent),
                BatchOutputPricePerMTok = Pricing.BatchPrice(price?.OutputPricePerMTok ?? 0, price?.BatchOutputPricePerMTok, active.Provider?.BatchDiscountPercent),
                RouteTargets = targets.Select(t =>
                {
                    var p = prices.GetValueOrDefault((t.ProviderId, t.ModelName));
                    return new ResolvedRouteTarget(t.Position, t.Provider?.Name ?? "", t.ModelName, t == active, p?.InputPricePerMTok, p?.OutputPricePerMTok);
                }).ToList(),
            };
        }

        var alias = await db.ModelAliases.AsNoTracking().FirstOrDefaultAsync(a => a.Alias == name, cancellationToken);
        var modelName = alias?.ModelName ?? name;
        // Several providers may serve a model: the cheapest enabled one takes the job, the oldest on a tie.
        var model = await db.ProviderModels.AsNoTracking().Include(m => m.Provider)
            .Where(m => m.Name == modelName && m.Provider!.Enabled)
            .OrderBy(m => m.InputPricePerMTok + m.OutputPricePerMTok).ThenBy(m => m.Provider!.CreatedAt)
            .FirstOrDefaultAsync(cancellationToken);
        return model is null
            ? null
            : new(alias is null ? NameKinds.Model : NameKinds.Alias, null, null, model.ProviderId, model.Provider!.Name, model.Name,
                model.InputPricePerMTok, model.OutputPricePerMTok)
            {
                SupportsNativeBatch = model.Provider.SupportsNativeBatch,
                BatchInputPricePerMTok = Pricing.BatchPrice(model.InputPricePerMTok, model.BatchInputPricePerMTok, model.Provider.BatchDiscountPercent),
                BatchOutputPricePerMTok = Pricing.BatchPrice(model.OutputPricePerMTok, model.BatchOutputPricePerMTok, model.Provider.BatchDiscountPercent),
            };
    }

    public async Task<CatalogDto> GetAsync(CancellationToken cancellationToken)
    {
        var models = await db.ProviderModels.AsNoTracking()
            .OrderBy(m => m.Name).ThenBy(m => m.Provider!.Name)
            .Select(m => new CatalogModelDto(m.Name, m.Provider!.Name, m.InputPricePerMTok, m.OutputPricePerMTok))
            .ToListAsync(cancellationToken);
        var aliases = await db.ModelAliases.AsNoTracking().OrderBy(a => a.Alias)
            .Select(a => new ModelAliasDto(a.Alias, a.ModelName)).ToListAsync(cancellationToken);
        var routes = await db.Routes.AsNoTracking().OrderBy(r => r.Name).Select(r => r.Name).ToListAsync(cancellationToken);
        return new CatalogDto(models, aliases, routes);
    }

    /// <summary>Every name a job may use, for the error that refuses an unknown one.</summary>
    public async Task<IReadOnlyList<string>> KnownNamesAsync(CancellationToken cancellationToken)
    {
        var catalog = await GetAsync(cancellationToken);
        return catalog.Models.Select(m => m.Name).Distinct()
            .Concat(catalog.Aliases.Select(a => a.Alias))
            .Concat(catalog.Routes)
            .Order(StringComparer.Ordinal)
            .ToList();
    }
}
