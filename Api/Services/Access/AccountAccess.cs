using System.Security.Claims;
using AspireBatch.Contracts;
using AspireBatch.Data.Entities;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace AspireBatch.Api.Services.Access;

/// <summary>
/// Turns an account's sign-in token into the claims a key carries: the scopes of the account's role, read from the
/// database on every request, so a role change, a lock, a new password or a deletion takes effect on the next
/// request rather than when the token expires. Accounts run the deployment: they see every team's work.
/// </summary>
public sealed class AccountAccess(UserManager<OperatorAccount> users, IOptions<IdentityOptions> identity) : IClaimsTransformation
{
    public async Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
    {
        var claims = identity.Value.ClaimsIdentity;
        if (principal.HasClaim(c => c.Type == CallerAccess.TeamClaim) || principal.FindFirstValue(claims.SecurityStampClaimType) is not { } stamp
            || principal.FindFirstValue(claims.UserIdClaimType) is not { } id)
        {
            return principal;
        }
        var account = await users.FindByIdAsync(id);
        if (account is null || await users.IsLockedOutAsync(account) || await users.GetSecurityStampAsync(account) != stamp)
        {
            return new ClaimsPrincipal(new ClaimsIdentity());
        }
        var role = (await users.GetRolesAsync(account)).FirstOrDefault() ?? AccountRoles.Viewer;
        var caller = new ClaimsIdentity(
        [
            new Claim(ClaimTypes.Name, account.UserName!),
            new Claim(CallerAccess.TeamClaim, ApiScopes.AdminTeam),
            new Claim(CallerAccess.AccountClaim, account.Id.ToString()),
            new Claim(CallerAccess.AllTeamsClaim, "true"),
            new Claim(ClaimTypes.Role, role),
            .. AccountRoles.Scopes(role).Select(s => new Claim(CallerAccess.ScopeClaim, s)),
        ], principal.Identity!.AuthenticationType);
        return new ClaimsPrincipal(caller);
    }
}
