namespace AspireBatch.Contracts;

/// <summary>A provider as the Api shows it: the key itself never leaves the server, only whether one is set and its last 4 characters.</summary>
public sealed record ProviderDto(
    Guid Id,
    string Name,
    string BaseUrl,
    bool HasApiKey,
    string? ApiKeyLast4,
    int TimeoutSeconds,
    int ConnectTimeoutSeconds,
    int? RequestsPerMinute,
    int? TokensPerMinute,
    int? MaxConcurrency,
    bool Enabled,
    IReadOnlyList<ModelPriceDto> Models,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    bool SupportsNativeBatch = false,
    decimal? BatchDiscountPercent = null);

/// <summary>
/// Create or replace a provider. On update a null ApiKey keeps the stored key; an empty one removes it. SupportsNativeBatch
/// (the provider serves OpenAI's /v1/files + /v1/batches) and BatchDiscountPercent (its batch discount on the real-time price,
/// 0-100; 50 when not given) keep their stored values when null.
/// </summary>
public sealed record ProviderRequest(
    string Name,
    string BaseUrl,
    string? ApiKey,
    int TimeoutSeconds = 30,
    int ConnectTimeoutSeconds = 10,
    int? RequestsPerMinute = null,
    int? TokensPerMinute = null,
    int? MaxConcurrency = null,
    bool Enabled = true,
    bool? SupportsNativeBatch = null,
    decimal? BatchDiscountPercent = null);

/// <summary>
/// A model a provider serves: its price in USD per million tokens and, optionally, limits of its own that apply on top
/// of the provider's (providers often set lower limits for their larger models). Batch prices are what its lines cost
/// through the provider's native batches; when never set, the real-time price less the provider's batch discount. On
/// update a null batch price keeps the stored one.
/// </summary>
public sealed record ModelPriceDto(
    string Name,
    decimal InputPricePerMTok,
    decimal OutputPricePerMTok,
    int? RequestsPerMinute = null,
    int? TokensPerMinute = null,
    decimal? CachedInputPricePerMTok = null,
    decimal? BatchInputPricePerMTok = null,
    decimal? BatchOutputPricePerMTok = null);

public sealed record ConnectionTestResult(bool Success, int? StatusCode, long LatencyMs, string Message, IReadOnlyList<string> Models);

public sealed record ModelAliasDto(string Alias, string ModelName);

/// <summary>Everything a job may name: models with the providers serving them, aliases and routes.</summary>
public sealed record CatalogDto(IReadOnlyList<CatalogModelDto> Models, IReadOnlyList<ModelAliasDto> Aliases, IReadOnlyList<string> Routes);

public sealed record CatalogModelDto(string Name, string Provider, decimal InputPricePerMTok, decimal OutputPricePerMTok);

/// <summary>The last background check of a provider's /models.</summary>
public sealed record ProviderHealthCheck(bool Healthy, int? StatusCode, long LatencyMs, string Message, DateTimeOffset CheckedAt);

/// <summary>A provider's shared circuit breaker and its last health check.</summary>
public sealed record ProviderHealthDto(Guid ProviderId, string Name, string Circuit, long ConsecutiveFailures, DateTimeOffset? OpenUntil, ProviderHealthCheck? LastCheck)
{
    /// <summary>Limits the workers learned for the provider's models where none is configured, one per model.</summary>
    public IReadOnlyList<LearnedLimitDto> LearnedLimits { get; init; } = [];
}

/// <summary>
/// A limit learned from a provider that has none configured, for one of its models: from its rate-limit headers
/// (<c>Source</c> "headers") or, when it sends none, from its 429s (<c>Source</c> "429"). A configured limit always wins.
/// </summary>
public sealed record LearnedLimitDto(string Model, int? RequestsPerMinute, int? TokensPerMinute, string Source, DateTimeOffset LearnedAt, DateTimeOffset SeenAt)
{
    public const string FromHeaders = "headers";
    public const string From429 = "429";

    /// <summary>The Redis hash the workers keep them in: one field per model, each a LearnedLimitDto as JSON.</summary>
    public static string RedisKey(Guid providerId) => $"aspirebatch:learned:{providerId:N}";

    /// <summary>How long a learned limit stands once no answer confirms it.</summary>
    public static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(10);
}

/// <summary>What a name a job may use stands for (<see cref="ResolvedName.Kind"/>).</summary>
public static class NameKinds
{
    public const string Route = "route";
    public const string Alias = "alias";
    public const string Model = "model";
}

/// <summary>
/// What a job naming <see cref="Name"/> would run on now, as the import resolves it: a route (its active target, and
/// every target in order), an alias (the model it points at) or a model (its cheapest enabled provider). Prices are
/// USD per million tokens, null where no price is configured (the estimate then counts 0).
/// </summary>
public sealed record ResolvedName(
    string Name,
    string Kind,
    string ProviderName,
    string ModelName,
    decimal? InputPricePerMTok,
    decimal? OutputPricePerMTok,
    IReadOnlyList<ResolvedRouteTarget> RouteTargets);

/// <summary>One target of a resolved route, in fallback order; <see cref="Active"/> is the one new calls go to.</summary>
public sealed record ResolvedRouteTarget(int Position, string ProviderName, string ModelName, bool Active, decimal? InputPricePerMTok, decimal? OutputPricePerMTok);
