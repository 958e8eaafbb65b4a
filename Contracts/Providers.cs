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
    DateTimeOffset UpdatedAt);

/// <summary>Create or replace a provider. On update a null ApiKey keeps the stored key; an empty one removes it.</summary>
public sealed record ProviderRequest(
    string Name,
    string BaseUrl,
    string? ApiKey,
    int TimeoutSeconds = 30,
    int ConnectTimeoutSeconds = 10,
    int? RequestsPerMinute = null,
    int? TokensPerMinute = null,
    int? MaxConcurrency = null,
    bool Enabled = true);

/// <summary>
/// A model a provider serves: its price in USD per million tokens and, optionally, limits of its own that apply on top
/// of the provider's (providers often set lower limits for their larger models).
/// </summary>
public sealed record ModelPriceDto(
    string Name,
    decimal InputPricePerMTok,
    decimal OutputPricePerMTok,
    int? RequestsPerMinute = null,
    int? TokensPerMinute = null);

public sealed record ConnectionTestResult(bool Success, int? StatusCode, long LatencyMs, string Message, IReadOnlyList<string> Models);

public sealed record ModelAliasDto(string Alias, string ModelName);

/// <summary>Everything a job may name: models with the providers serving them, aliases and routes.</summary>
public sealed record CatalogDto(IReadOnlyList<CatalogModelDto> Models, IReadOnlyList<ModelAliasDto> Aliases, IReadOnlyList<string> Routes);

public sealed record CatalogModelDto(string Name, string Provider, decimal InputPricePerMTok, decimal OutputPricePerMTok);

/// <summary>The last background check of a provider's /models.</summary>
public sealed record ProviderHealthCheck(bool Healthy, int? StatusCode, long LatencyMs, string Message, DateTimeOffset CheckedAt);

/// <summary>A provider's shared circuit breaker and its last health check.</summary>
public sealed record ProviderHealthDto(Guid ProviderId, string Name, string Circuit, long ConsecutiveFailures, DateTimeOffset? OpenUntil, ProviderHealthCheck? LastCheck);
