using System.Security.Claims;
using System.Text.Encodings.Web;
using AspireBatch.Api.Services.Access;
using AspireBatch.Contracts;
using AspireBatch.Data.Entities;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace AspireBatch.Api.Infrastructure;

/// <summary>
/// Accepts an account's sign-in token (ASP.NET Core's bearer token) and reads the account on every request: its
/// role's scopes come from the database, and a lock, a new password (a new security stamp) or a deletion fails the
/// token at once (401), rather than when it expires. Accounts run the deployment: they see every team's work.
/// </summary>
internal sealed class AccountAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    UserManager<OperatorAccount> users,
    IOptions<IdentityOptions> identity) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "Account";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var token = await Context.AuthenticateAsync(IdentityConstants.BearerScheme);
        if (!token.Succeeded)
        {
            return token.None ? AuthenticateResult.NoResult() : AuthenticateResult.Fail(token.Failure ?? new InvalidOperationException("Invalid token"));
        }
        var claims = identity.Value.ClaimsIdentity;
        var account = token.Principal.FindFirstValue(claims.UserIdClaimType) is { } id ? await users.FindByIdAsync(id) : null;
        if (account is null || await users.IsLockedOutAsync(account)
            || await users.GetSecurityStampAsync(account) != token.Principal.FindFirstValue(claims.SecurityStampClaimType))
        {
            return AuthenticateResult.Fail("The account's sign-in has ended (locked, deleted, or its password changed)");
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
        ], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(caller), SchemeName));
    }
}
