namespace AspireBatch.Contracts;

/// <summary>What a key may do. A key holds one or more; <see cref="Admin"/> holds every right and sees every team.</summary>
public static class ApiScopes
{
    /// <summary>Jobs, rehearsals and their exports, and the usage figures of the key's team.</summary>
    public const string Jobs = "jobs";
    /// <summary>The OpenAI Files and Batch API (/v1).</summary>
    public const string Batches = "batches";
    /// <summary>Providers, models, prices, aliases, routes and keys, and every team's work.</summary>
    public const string Admin = "providers:admin";
    /// <summary>Reads (GET) of what the jobs and batches scopes reach; nothing that changes anything.</summary>
    public const string ReadOnly = "read-only";

    public static readonly IReadOnlyList<string> All = [Jobs, Batches, Admin, ReadOnly];

    /// <summary>The team of the AppHost's own key (the first admin key), and of everything made before teams existed.</summary>
    public const string AdminTeam = "admin";
}

/// <summary>A key as listed: never its secret, which is shown once, at creation.</summary>
public sealed record ApiKeyDto(Guid Id, string Name, string Team, IReadOnlyList<string> Scopes, string Prefix, int? RequestsPerMinute,
    decimal? MonthlyBudgetUsd, decimal SpentThisMonthUsd, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

public sealed record CreateApiKeyRequest(string Name, string Team, IReadOnlyList<string> Scopes, int? RequestsPerMinute = null, decimal? MonthlyBudgetUsd = null);

/// <summary>The new key with its secret: the only time the secret is shown.</summary>
public sealed record CreatedApiKey(ApiKeyDto Key, string Secret);
