using System.Security.Claims;
using AspireBatch.Contracts;

namespace AspireBatch.Api.Services.Access;

/// <summary>
/// Who is calling, as the key's (or account's) claims say: its team, its scopes, its id (none for the AppHost's key).
/// An admin key and every operator account see every team's work; any other key sees its own team's only.
/// </summary>
public sealed class CallerAccess(IHttpContextAccessor accessor)
{
    public const string TeamClaim = "aspirebatch:team";
    public const string ScopeClaim = "aspirebatch:scope";
    public const string KeyIdClaim = "aspirebatch:key";
    public const string RequestsPerMinuteClaim = "aspirebatch:rpm";
    /// <summary>An operator account's id: the caller signed in rather than holding a key.</summary>
    public const string AccountClaim = "aspirebatch:account";
    /// <summary>Sees every team's work without the admin scope (every operator account).</summary>
    public const string AllTeamsClaim = "aspirebatch:all-teams";

    /// <summary>The name the AppHost's key (parameter api-key) goes by in the audit log.</summary>
    public const string AppHostKeyName = "api-key (AppHost)";

    private ClaimsPrincipal User => accessor.HttpContext?.User ?? new ClaimsPrincipal();

    public string Team => User.FindFirstValue(TeamClaim) ?? ApiScopes.AdminTeam;

    public Guid? KeyId => Guid.TryParse(User.FindFirstValue(KeyIdClaim), out var id) ? id : null;

    /// <summary>Who the audit log says made a change: the AppHost's key, or a team's key by name and team.</summary>
    public string Actor => User.FindFirstValue(ClaimTypes.Name) is { } name
        ? IsAccount ? $"user {name}" : KeyId is null ? name : $"key {name} ({Team})"
        : "anonymous";

    public bool IsAccount => User.HasClaim(c => c.Type == AccountClaim);

    public Guid? AccountId => Guid.TryParse(User.FindFirstValue(AccountClaim), out var id) ? id : null;

    public bool SeesAll => Has(User, ApiScopes.Admin) || User.HasClaim(AllTeamsClaim, "true");

    /// <summary>The team a list is narrowed to: null for an admin key, which sees them all.</summary>
    public string? TeamFilter => SeesAll ? null : Team;

    /// <summary>Whether the caller may see what <paramref name="team"/> owns.</summary>
    public bool Sees(string team) => SeesAll || team == Team;

    public static bool Has(ClaimsPrincipal user, string scope) => user.HasClaim(ScopeClaim, scope);
}
