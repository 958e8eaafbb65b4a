using AspireBatch.Api.Services.Access;
using AspireBatch.Api.Infrastructure;
using System.Text.Json;
using AspireBatch.Api.Services;
using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Entities;
using AspireBatch.Data.Live;
using AspireBatch.Data.Services;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using StackExchange.Redis;

namespace AspireBatch.Api.Apis;

public static class ProvidersApi
{
    public static RouteGroupBuilder MapProvidersApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Providers and models").RequireAdminToChange()
            .AnnouncesChanges((live, request) => request.Path.Value!.Contains("/models/") || request.Path.StartsWithSegments("/api/aliases")
                ? live.CatalogChangedAsync()
                : live.ProviderChangedAsync());
        api.MapGet("/providers", ListProviders).WithName("ListProviders").WithSummary("Providers with their models and prices; keys are never returned");
        api.MapGet("/providers/{id:guid}", GetProvider).WithName("GetProvider").WithSummary("A provider with its models and prices; its key shows only as the last 4 characters");
        api.MapGet("/providers/health", ProviderHealth).WithName("GetProviderHealth")
            .WithSummary("Each provider's circuit breaker (shared by all workers), its last background health check and the limits learned from its headers or 429s where none is configured");
        api.MapPost("/providers", CreateProvider).WithName("CreateProvider").Audited(AuditResourceTypes.Provider, AuditSnapshots.Provider)
            .WithSummary("Register an OpenAI-compatible provider")
            .WithDescription("Example body: {\"name\":\"deepseek\",\"baseUrl\":\"https://api.deepseek.com/v1\",\"apiKey\":\"sk-...\",\"requestsPerMinute\":3000}. The key is stored encrypted; answers show only its last 4 characters.");
        api.MapPut("/providers/{id:guid}", UpdateProvider).WithName("UpdateProvider").Audited(AuditResourceTypes.Provider, AuditSnapshots.Provider).WithSummary("Replace a provider's settings; a null apiKey keeps the stored key");
        api.MapDelete("/providers/{id:guid}", DeleteProvider).WithName("DeleteProvider").Audited(AuditResourceTypes.Provider, AuditSnapshots.Provider).WithSummary("Delete a provider that no route or job uses");
        api.MapPost("/providers/{id:guid}/test", TestProvider).WithName("TestProvider").ChangesNothing().WithSummary("Call the provider's /models: status, latency and model list");
        api.MapPut("/providers/{id:guid}/models/{model}", PutModel).WithName("PutModelPrice").Audited(AuditResourceTypes.Model, AuditSnapshots.Model).WithSummary("Add a model to a provider or change its price (USD per million tokens) and its own RPM/TPM limits");
        api.MapDelete("/providers/{id:guid}/models/{model}", DeleteModel).WithName("DeleteModel").Audited(AuditResourceTypes.Model, AuditSnapshots.Model).WithSummary("Remove a model and its price from a provider");
        api.MapGet("/catalog", GetCatalog).WithName("GetCatalog").WithSummary("Every model, alias and route a job may name");
        api.MapGet("/catalog/resolve", ResolveName).WithName("ResolveName")
            .WithSummary("What a job naming this model, alias or route would run on: route targets or provider and model, with prices")
            .WithDescription("Resolved as the import resolves it (a route, then an alias, then a model). 404 when nothing has the name, 400 for an empty name.");
        api.MapPut("/aliases/{alias}", PutAlias).WithName("PutAlias").Audited(AuditResourceTypes.Alias, AuditSnapshots.Alias).WithSummary("Point an alias at a model (gpt-4 -> gpt-4.1)");
        api.MapDelete("/aliases/{alias}", DeleteAlias).WithName("DeleteAlias").Audited(AuditResourceTypes.Alias, AuditSnapshots.Alias).WithSummary("Delete an alias");
        return api;
    }

    public static async Task<Ok<List<ProviderDto>>> ListProviders(BatchDbContext db, CancellationToken cancellationToken)
    {
        var providers = await db.Providers.AsNoTracking().Include(p => p.Models).OrderBy(p => p.Name).ToListAsync(cancellationToken);
        return TypedResults.Ok(providers.Select(ToDto).ToList());
    }

    public static async Task<Ok<List<ProviderHealthDto>>> ProviderHealth(
        BatchDbContext db, ProviderState state, IConnectionMultiplexer redis, RedisBreaker breaker, TimeProvider time, CancellationToken cancellationToken)
    {
        var providers = await db.Providers.AsNoTracking().OrderBy(p => p.Name).Select(p => new { p.Id, p.Name }).ToListAsync(cancellationToken);
        var health = new List<ProviderHealthDto>();
        foreach (var provider in providers)
        {
            health.Add(await ReadHealthAsync(provider.Id, provider.Name));
        }
        return TypedResults.Ok(health);

        // Circuits and learned limits live in Redis: while it is away they read "unknown" rather than failing the page.
        async Task<ProviderHealthDto> ReadHealthAsync(Guid id, string name)
        {
            var unknown = new ProviderHealthDto(id, name, "unknown", 0, null, null);
            if (!breaker.Available)
            {
                return unknown;
            }
            try
            {
                return await state.ReadAsync(id, name) with { LearnedLimits = await LearnedLimitsAsync(redis, id, time.GetUtcNow()) };
            }
            catch (Exception e) when (RedisBreaker.IsRedisFault(e))
            {
                breaker.Failed(e);
                return unknown;
            }
        }
    }

    /// <summary>The limits the workers learned for a provider's models (Worker/Limits/LearnedLimits.cs writes them), lapsed ones left out.</summary>
    private static async Task<List<LearnedLimitDto>> LearnedLimitsAsync(IConnectionMultiplexer redis, Guid providerId, DateTimeOffset now)
    {
        var learned = new List<LearnedLimitDto>();
        foreach (var entry in await redis.GetDatabase().HashGetAllAsync(LearnedLimitDto.RedisKey(providerId)))
        {
            try
            {
                if (JsonSerializer.Deserialize<LearnedLimitDto>(entry.Value.ToString()) is { } limit && now - limit.SeenAt < LearnedLimitDto.Lifetime)
                {
                    learned.Add(limit);
                }
            }
            catch (JsonException)
            {
                // Written by another version: not shown.
            }
        }
        return [.. learned.OrderBy(l => l.Model, StringComparer.Ordinal)];
    }

    public static async Task<Results<Ok<ProviderDto>, NotFound>> GetProvider(Guid id, BatchDbContext db, CancellationToken cancellationToken) =>
        await db.Providers.AsNoTracking().Include(p => p.Models).FirstOrDefaultAsync(p => p.Id == id, cancellationToken) is { } provider
            ? TypedResults.Ok(ToDto(provider))
            : TypedResults.NotFound();

    public static async Task<Results<Created<ProviderDto>, ValidationProblem, ProblemHttpResult>> CreateProvider(
        ProviderRequest request, BatchDbContext db, ProviderKeyProtector keys, TimeProvider time, CancellationToken cancellationToken)
    {
        if (Validate(request) is { Count: > 0 } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }
        if (await db.Providers.AnyAsync(p => p.Name == request.Name, cancellationToken))
        {
            return TypedResults.Problem($"a provider named \"{request.Name}\" exists", statusCode: 409, title: "Conflict");
        }
        var now = time.GetUtcNow();
        var provider = new Provider { Id = Guid.CreateVersion7(), Name = request.Name, BaseUrl = request.BaseUrl, CreatedAt = now };
        Apply(provider, request, keys, now);
        db.Providers.Add(provider);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/providers/{provider.Id}", ToDto(provider));
    }

    public static async Task<Results<Ok<ProviderDto>, NotFound, ValidationProblem, ProblemHttpResult>> UpdateProvider(
        Guid id, ProviderRequest request, BatchDbContext db, ProviderKeyProtector keys, TimeProvider time, CancellationToken cancellationToken)
    {
        if (Validate(request) is { Count: > 0 } errors)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var provider = await db.Providers.Include(p => p.Models).FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
        if (provider is null)
        {
            return TypedResults.NotFound();
        }
        if (await db.Providers.AnyAsync(p => p.Name == request.Name && p.Id != id, cancellationToken))
        {
            return TypedResults.Problem($"a provider named \"{request.Name}\" exists", statusCode: 409, title: "Conflict");
        }
        Apply(provider, request, keys, time.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(ToDto(provider));
    }

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult>> DeleteProvider(Guid id, BatchDbContext db, CancellationToken cancellationToken)
    {
        if (!await db.Providers.AnyAsync(p => p.Id == id, cancellationToken))
        {
            return TypedResults.NotFound();
        }
        if (await db.RouteTargets.AnyAsync(t => t.ProviderId == id, cancellationToken) || await db.Jobs.AnyAsync(j => j.ProviderId == id, cancellationToken))
        {
            return TypedResults.Problem("the provider is used by a route or a job; remove it from those first (or disable it)", statusCode: 409, title: "Conflict");
        }
        await db.Providers.Where(p => p.Id == id).ExecuteDeleteAsync(cancellationToken);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Ok<ConnectionTestResult>, NotFound>> TestProvider(
        Guid id, BatchDbContext db, ProviderKeyProtector keys, ModelListProbe probe, CancellationToken cancellationToken)
    {
        var provider = await db.Providers.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, cancellationToken);
        if (provider is null)
        {
            return TypedResults.NotFound();
        }
        var key = provider.EncryptedApiKey is { } encrypted ? keys.Unprotect(encrypted) : null;
        return TypedResults.Ok(await probe.TestAsync(provider.BaseUrl, key, TimeSpan.FromSeconds(provider.ConnectTimeoutSeconds), cancellationToken));
    }

    public static async Task<Results<Ok<ModelPriceDto>, NotFound, ValidationProblem>> PutModel(
        Guid id, string model, ModelPriceDto price, BatchDbContext db, CancellationToken cancellationToken)
    {
        if (price.InputPricePerMTok < 0 || price.OutputPricePerMTok < 0 || price.CachedInputPricePerMTok < 0
            || price.BatchInputPricePerMTok < 0 || price.BatchOutputPricePerMTok < 0)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["price"] = ["prices cannot be negative"] });
        }
        if (price.RequestsPerMinute is < 1 || price.TokensPerMinute is < 1)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limits"] = ["requestsPerMinute and tokensPerMinute must be 1 or more, or null for none"] });
        }
        if (!await db.Providers.AnyAsync(p => p.Id == id, cancellationToken))
        {
            return TypedResults.NotFound();
        }
        var entity = await db.ProviderModels.FirstOrDefaultAsync(m => m.ProviderId == id && m.Name == model, cancellationToken);
        if (entity is null)
        {
            entity = new ProviderModel { Id = Guid.CreateVersion7(), ProviderId = id, Name = model };
            db.ProviderModels.Add(entity);
        }
        entity.InputPricePerMTok = price.InputPricePerMTok;
        entity.OutputPricePerMTok = price.OutputPricePerMTok;
        entity.CachedInputPricePerMTok = price.CachedInputPricePerMTok;
        // The Dashboard's price dialog does not know batch prices: null keeps them.
        entity.BatchInputPricePerMTok = price.BatchInputPricePerMTok ?? entity.BatchInputPricePerMTok;
        entity.BatchOutputPricePerMTok = price.BatchOutputPricePerMTok ?? entity.BatchOutputPricePerMTok;
        entity.RequestsPerMinute = price.RequestsPerMinute;
        entity.TokensPerMinute = price.TokensPerMinute;
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(ToDto(entity));
    }

    public static async Task<Results<NoContent, NotFound>> DeleteModel(Guid id, string model, BatchDbContext db, CancellationToken cancellationToken) =>
        await db.ProviderModels.Where(m => m.ProviderId == id && m.Name == model).ExecuteDeleteAsync(cancellationToken) > 0
            ? TypedResults.NoContent()
            : TypedResults.NotFound();

    public static async Task<Ok<CatalogDto>> GetCatalog(CatalogService catalog, CancellationToken cancellationToken) =>
        TypedResults.Ok(await catalog.GetAsync(cancellationToken));

    public static async Task<Results<Ok<ResolvedName>, ProblemHttpResult, ValidationProblem>> ResolveName(
        string? name, CatalogService catalog, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["name"] = ["a model, alias or route name is required"] });
        }
        // The name exactly as a job would send it: the import does not trim it either.
        if (await catalog.ResolveAsync(name, cancellationToken) is { } target)
        {
            return TypedResults.Ok(target.ToDto(name));
        }
        var known = await catalog.KnownNamesAsync(cancellationToken);
        return TypedResults.Problem($"\"{name}\" is not a known model, alias or route; known: {string.Join(", ", known)}",
            title: "Unknown model", statusCode: StatusCodes.Status404NotFound,
            extensions: new Dictionary<string, object?> { ["knownModels"] = known });
    }

    public static async Task<Results<Ok<ModelAliasDto>, ValidationProblem>> PutAlias(string alias, ModelAliasDto request, BatchDbContext db, CancellationToken cancellationToken)
    {
        if (!await db.ProviderModels.AnyAsync(m => m.Name == request.ModelName, cancellationToken))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["modelName"] = [$"no provider serves \"{request.ModelName}\""] });
        }
        var entity = await db.ModelAliases.FirstOrDefaultAsync(a => a.Alias == alias, cancellationToken);
        if (entity is null)
        {
            db.ModelAliases.Add(new ModelAlias { Alias = alias, ModelName = request.ModelName });
        }
        else
        {
            entity.ModelName = request.ModelName;
        }
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Ok(new ModelAliasDto(alias, request.ModelName));
    }

    public static async Task<Results<NoContent, NotFound>> DeleteAlias(string alias, BatchDbContext db, CancellationToken cancellationToken) =>
        await db.ModelAliases.Where(a => a.Alias == alias).ExecuteDeleteAsync(cancellationToken) > 0 ? TypedResults.NoContent() : TypedResults.NotFound();

    private static Dictionary<string, string[]> Validate(ProviderRequest request)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 100)
        {
            errors["name"] = ["a name of 1 to 100 characters is required"];
        }
        if (!Uri.TryCreate(request.BaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            errors["baseUrl"] = ["an absolute http(s) URL is required, e.g. https://api.openai.com/v1"];
        }
        if (request.TimeoutSeconds is < 1 or > 600 || request.ConnectTimeoutSeconds is < 1 or > 120)
        {
            errors["timeouts"] = ["timeoutSeconds must be 1-600 and connectTimeoutSeconds 1-120"];
        }
        if (request.RequestsPerMinute is < 1 || request.TokensPerMinute is < 1 || request.MaxConcurrency is < 1)
        {
            errors["limits"] = ["limits must be 1 or more, or null for none"];
        }
        if (request.BatchDiscountPercent is < 0 or > 100)
        {
            errors["batchDiscountPercent"] = ["batchDiscountPercent is a percentage of the real-time price, 0 to 100 (OpenAI: 50)"];
        }
        return errors;
    }

    private static void Apply(Provider provider, ProviderRequest request, ProviderKeyProtector keys, DateTimeOffset now)
    {
        provider.Name = request.Name;
        provider.BaseUrl = request.BaseUrl.TrimEnd('/');
        provider.TimeoutSeconds = request.TimeoutSeconds;
        provider.ConnectTimeoutSeconds = request.ConnectTimeoutSeconds;
        provider.RequestsPerMinute = request.RequestsPerMinute;
        provider.TokensPerMinute = request.TokensPerMinute;
        provider.MaxConcurrency = request.MaxConcurrency;
        provider.Enabled = request.Enabled;
        provider.SupportsNativeBatch = request.SupportsNativeBatch ?? provider.SupportsNativeBatch;
        provider.BatchDiscountPercent = request.BatchDiscountPercent ?? provider.BatchDiscountPercent;
        provider.UpdatedAt = now;
        if (request.ApiKey is { } key)
        {
            provider.EncryptedApiKey = key.Length == 0 ? null : keys.Protect(key);
            provider.ApiKeyLast4 = key.Length == 0 ? null : ProviderKeyProtector.LastFour(key);
        }
    }

    public static ProviderDto ToDto(Provider p) => new(p.Id, p.Name, p.BaseUrl, p.EncryptedApiKey is not null, p.ApiKeyLast4,
        p.TimeoutSeconds, p.ConnectTimeoutSeconds, p.RequestsPerMinute, p.TokensPerMinute, p.MaxConcurrency, p.Enabled,
        p.Models.OrderBy(m => m.Name).Select(ToDto).ToList(),
        p.CreatedAt, p.UpdatedAt, p.SupportsNativeBatch, p.BatchDiscountPercent);

    public static ModelPriceDto ToDto(ProviderModel m) =>
        new(m.Name, m.InputPricePerMTok, m.OutputPricePerMTok, m.RequestsPerMinute, m.TokensPerMinute, m.CachedInputPricePerMTok,
            m.BatchInputPricePerMTok, m.BatchOutputPricePerMTok);
}
