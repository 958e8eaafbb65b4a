using AspireBatch.Contracts;
using AspireBatch.Data;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Services;

/// <summary>Where a job's calls go: a route, or one provider's model; with the price used for its estimate.</summary>
public sealed record ResolvedTarget(
    Guid? RouteId,
    string? RouteName,
    Guid? ProviderId,
    string? ProviderName,
    string ModelName,
    decimal InputPricePerMTok,
    decimal OutputPricePerMTok)
{
    public string Describe => RouteName is not null ? $"route {RouteName} ({ProviderName}/{ModelName})" : $"{ProviderName}/{ModelName}";
}

/// <summary>Resolves what a job names (a route, an alias or a model); never silently swaps an unknown name.</summary>
public sealed class CatalogService(BatchDbContext db)
{
    public async Task<ResolvedTarget?> ResolveAsync(string name, CancellationToken cancellationToken)
    {
        var route = await db.Routes.AsNoTracking().Include(r => r.Targets).ThenInclude(t => t.Provider)
            .FirstOrDefaultAsync(r => r.Name == name, cancellationToken);
        if (route is not null)
        {
            var active = route.Targets.OrderBy(t => t.Position).FirstOrDefault(t => t.Position >= route.ActiveTargetPosition)
                ?? route.Targets.OrderBy(t => t.Position).FirstOrDefault();
            if (active is null)
            {
                return null;
            }
            var price = await db.ProviderModels.AsNoTracking()
                .FirstOrDefaultAsync(m => m.ProviderId == active.ProviderId && m.Name == active.ModelName, cancellationToken);
            return new(route.Id, route.Name, active.ProviderId, active.Provider?.Name, active.ModelName,
                price?.InputPricePerMTok ?? 0, price?.OutputPricePerMTok ?? 0);
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
            : new(null, null, model.ProviderId, model.Provider!.Name, model.Name, model.InputPricePerMTok, model.OutputPricePerMTok);
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
