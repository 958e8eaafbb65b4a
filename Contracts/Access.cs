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
    /// <summary>Rolling a route back or forward (what an operator on call does); changing routes stays with admin.</summary>
    public const string RouteSwitch = "routes:switch";

    public static readonly IReadOnlyList<string> All = [Jobs, Batches, Admin, ReadOnly, RouteSwitch];

    /// <summary>The team of the AppHost's own key (the first admin key), and of everything made before teams existed.</summary>
    public const string AdminTeam = "admin";
}

/// <summary>A key as listed: never its secret, which is shown once, at creation.</summary>
public sealed record ApiKeyDto(Guid Id, string Name, string Team, IReadOnlyList<string> Scopes, string Prefix, int? RequestsPerMinute,
    decimal? MonthlyBudgetUsd, decimal SpentThisMonthUsd, DateTimeOffset CreatedAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt);

public sealed record CreateApiKeyRequest(string Name, string Team, IReadOnlyList<string> Scopes, int? RequestsPerMinute = null, decimal? MonthlyBudgetUsd = null);

/// <summary>The new key with its secret: the only time the secret is shown.</summary>
public sealed record CreatedApiKey(ApiKeyDto Key, string Secret);

/// <summary>An operator account's role, and the scopes it carries on the Api.</summary>
public static class AccountRoles
{
    /// <summary>Reads everything: jobs, batches, providers, routes, costs.</summary>
    public const string Viewer = "viewer";
    /// <summary>Runs and controls jobs and batches, rehearses, rolls routes back and forward.</summary>
    public const string Operator = "operator";
    /// <summary>Everything: providers, models, prices, routes, keys, users, the audit log.</summary>
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Viewer, Operator, Admin];

    public static IReadOnlyList<string> Scopes(string role) => role switch
    {
        Admin => [ApiScopes.Admin],
        Operator => [ApiScopes.Jobs, ApiScopes.Batches, ApiScopes.RouteSwitch],
        Viewer => [ApiScopes.ReadOnly],
        _ => [],
    };
}

/// <summary>An operator account as listed: never its password hash.</summary>
public sealed record AccountDto(Guid Id, string UserName, string Role, DateTimeOffset CreatedAt, DateTimeOffset? LastSignInAt, DateTimeOffset? LockedOutUntil);

public sealed record CreateAccountRequest(string UserName, string Password, string Role);

/// <summary>Change an account: its role, a new password, or lock it (true) until unlocked (false); absent parts stay.</summary>
public sealed record UpdateAccountRequest(string? Role = null, string? Password = null, bool? Locked = null);

public sealed record SignInRequest(string UserName, string Password);

/// <summary>Who the caller is: an account (with its role) or a key (with its team).</summary>
public sealed record CallerDto(string Name, string Kind, string? Role, string Team, IReadOnlyList<string> Scopes);

/// <summary>
/// Single sign-on through an OpenID Connect provider, off unless <see cref="Authority"/> is set. The Dashboard and the
/// Api read the same settings: the Dashboard signs people in at the provider, the Api checks the provider's ID token
/// and signs in the account named by <see cref="UserClaim"/>.
/// </summary>
public sealed class SsoOptions
{
    public const string Section = "Oidc";

    public string? Authority { get; set; }
    public string ClientId { get; set; } = "";
    /// <summary>The Dashboard's secret at the provider (the Api needs none).</summary>
    public string? ClientSecret { get; set; }
    /// <summary>The ID token claim that names the account (preferred_username, email, ...).</summary>
    public string UserClaim { get; set; } = "preferred_username";
    /// <summary>What the sign-in page's button says.</summary>
    public string DisplayName { get; set; } = "single sign-on";
    /// <summary>Only for a provider on plain HTTP in development and tests.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);
}
