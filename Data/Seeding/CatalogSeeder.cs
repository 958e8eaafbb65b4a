using AspireBatch.Data.Entities;
using AspireBatch.Data.Services;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Data.Seeding;

/// <summary>
/// Fills an empty catalog with the playbook's aliases and prices and registers the configured providers.
/// Runs at every start: it adds what is missing and never overwrites what an operator edited, except the
/// base URL and key of a seeded provider, which follow the AppHost.
/// </summary>
public sealed class CatalogSeeder(BatchDbContext db, ProviderKeyProtector keys, TimeProvider time)
{
    public async Task SeedAsync(SeedOptions options, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var existingAliases = await db.ModelAliases.Select(a => a.Alias).ToListAsync(cancellationToken);
        foreach (var (alias, model) in SeedCatalog.Aliases.Where(a => !existingAliases.Contains(a.Key)))
        {
            db.ModelAliases.Add(new ModelAlias { Alias = alias, ModelName = model });
        }

        var seeded = new List<Provider>();
        foreach (var (seed, order) in options.Providers.Where(p => p.Name.Length > 0 && p.BaseUrl.Length > 0).Select((p, i) => (p, i)))
        {
            var provider = await db.Providers.Include(p => p.Models).FirstOrDefaultAsync(p => p.Name == seed.Name, cancellationToken);
            if (provider is null)
            {
                // Creation order decides ties between providers of one model: the first seeded one is preferred.
                // The simulators serve /v1/files and /v1/batches at OpenAI's discount, so native batch jobs run without keys too.
                provider = new Provider
                {
                    Id = Guid.CreateVersion7(), Name = seed.Name, BaseUrl = seed.BaseUrl, CreatedAt = now.AddMilliseconds(order),
                    SupportsNativeBatch = true, BatchDiscountPercent = Domain.Pricing.DefaultBatchDiscountPercent,
                };
                db.Providers.Add(provider);
            }
            provider.BaseUrl = seed.BaseUrl;
            provider.UpdatedAt = now;
            if (!string.IsNullOrEmpty(seed.ApiKey))
            {
                provider.EncryptedApiKey = keys.Protect(seed.ApiKey);
                provider.ApiKeyLast4 = ProviderKeyProtector.LastFour(seed.ApiKey);
            }
            foreach (var (model, price) in SeedCatalog.Prices.Where(p => provider.Models.All(m => m.Name != p.Key)))
            {
                provider.Models.Add(new ProviderModel
                {
                    Id = Guid.CreateVersion7(),
                    Name = model,
                    InputPricePerMTok = price,
                    OutputPricePerMTok = price,
                });
            }
            foreach (var (model, price) in SeedCatalog.EmbeddingPrices.Where(p => provider.Models.All(m => m.Name != p.Key)))
            {
                // An embedding model is priced by its input alone.
                provider.Models.Add(new ProviderModel { Id = Guid.CreateVersion7(), Name = model, InputPricePerMTok = price, OutputPricePerMTok = 0 });
            }
            seeded.Add(provider);
        }

        if (seeded.Count > 0 && !await db.Routes.AnyAsync(r => r.Name == SeedCatalog.DefaultRouteName, cancellationToken))
        {
            db.Routes.Add(new Route
            {
                Id = Guid.CreateVersion7(),
                Name = SeedCatalog.DefaultRouteName,
                CreatedAt = now,
                Targets = seeded.Select((p, i) => new RouteTarget
                {
                    Id = Guid.CreateVersion7(),
                    Position = i,
                    ProviderId = p.Id,
                    ModelName = SeedCatalog.DefaultRouteModel,
                }).ToList(),
            });
        }
        await db.SaveChangesAsync(cancellationToken);
    }
}
