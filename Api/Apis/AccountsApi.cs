using AspireBatch.Api.Infrastructure;
using AspireBatch.Api.Services.Access;
using AspireBatch.Contracts;
using AspireBatch.Data.Entities;
using Microsoft.AspNetCore.Authentication.BearerToken;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Identity;

namespace AspireBatch.Api.Apis;

public static class AccountsApi
{
    public const string SsoScheme = "oidc";

    public static IEndpointRouteBuilder MapAccountsApi(this IEndpointRouteBuilder app)
    {
        var account = app.MapGroup("/api/account").WithTags("Access");
        account.MapPost("/token", SignIn).WithName("SignIn").AllowAnonymous().RequireRateLimiting(KeyRateLimits.SignInPolicy)
            .WithSummary("Sign an operator account in: a bearer token for the Api, valid 12 hours; 5 failed tries lock the account for 5 minutes");
        if (app.ServiceProvider.GetRequiredService<SsoOptions>().Enabled)
        {
            account.MapPost("/external-token", SignInWithProvider).WithName("SignInWithProvider").RequireRateLimiting(KeyRateLimits.SignInPolicy)
                .RequireAuthorization(policy => policy.AddAuthenticationSchemes(SsoScheme).RequireAuthenticatedUser())
                .WithSummary("Single sign-on: send the OpenID Connect provider's ID token as the bearer; the account it names (Oidc:UserClaim) gets a token like a password sign-in");
        }
        account.MapGet("/me", Me).WithName("GetCaller").RequireAuthorization()
            .WithSummary("Who the caller is: an account with its role, or a key with its team, and the scopes either carries");

        var users = app.MapGroup("/api/users").WithTags("Access").RequireScope(ApiScopes.Admin).Audited(AuditResourceTypes.User, AuditSnapshots.Account);
        users.MapGet("/", ListAccounts).WithName("ListAccounts").WithSummary("Operator accounts with their roles and last sign-in; never their passwords");
        users.MapPost("/", CreateAccount).WithName("CreateAccount")
            .WithSummary("Create an account with a role (viewer, operator, admin); the password follows ASP.NET Core Identity's default rules");
        users.MapPut("/{id:guid}", UpdateAccount).WithName("UpdateAccount").WithSummary("Change an account's role or password, or lock and unlock it");
        users.MapDelete("/{id:guid}", DeleteAccount).WithName("DeleteAccount").WithSummary("Delete an account (never the last admin, nor your own)");
        return app;
    }

    public static async Task<Results<SignInHttpResult, ProblemHttpResult>> SignIn(
        SignInRequest request, UserManager<OperatorAccount> users, SignInManager<OperatorAccount> signIn, TimeProvider time)
    {
        var account = string.IsNullOrWhiteSpace(request.UserName) ? null : await users.FindByNameAsync(request.UserName.Trim());
        if (account is null)
        {
            return Refused("The user name or password is wrong.");
        }
        var checkedPassword = await signIn.CheckPasswordSignInAsync(account, request.Password ?? "", lockoutOnFailure: true);
        if (checkedPassword.IsLockedOut)
        {
            return Refused("The account is locked: too many failed sign-ins (it opens again 5 minutes after the last one), or an admin locked it.");
        }
        if (!checkedPassword.Succeeded)
        {
            return Refused("The user name or password is wrong.");
        }
        return await IssueTokenAsync(account, users, signIn, time);

        static ProblemHttpResult Refused(string detail) => TypedResults.Problem(detail, title: "Sign-in refused", statusCode: StatusCodes.Status401Unauthorized);
    }

    public static async Task<Results<SignInHttpResult, ProblemHttpResult>> SignInWithProvider(
        HttpContext http, SsoOptions sso, UserManager<OperatorAccount> users, SignInManager<OperatorAccount> signIn, TimeProvider time)
    {
        var name = http.User.FindFirst(sso.UserClaim)?.Value;
        var account = string.IsNullOrWhiteSpace(name) ? null : await users.FindByNameAsync(name);
        if (account is null)
        {
            return TypedResults.Problem($"No account is named \"{name}\" (the provider's {sso.UserClaim}); an admin creates it on the Users page.",
                title: "Sign-in refused", statusCode: StatusCodes.Status401Unauthorized);
        }
        if (await users.IsLockedOutAsync(account))
        {
            return TypedResults.Problem("The account is locked.", title: "Sign-in refused", statusCode: StatusCodes.Status401Unauthorized);
        }
        return await IssueTokenAsync(account, users, signIn, time);
    }

    /// <summary>The answer of either sign-in: the account's bearer token, its last sign-in noted.</summary>
    private static async Task<SignInHttpResult> IssueTokenAsync(OperatorAccount account, UserManager<OperatorAccount> users, SignInManager<OperatorAccount> signIn, TimeProvider time)
    {
        account.LastSignInAt = time.GetUtcNow();
        await users.UpdateAsync(account);
        return TypedResults.SignIn(await signIn.CreateUserPrincipalAsync(account), authenticationScheme: IdentityConstants.BearerScheme);
    }

    public static Ok<CallerDto> Me(HttpContext http, CallerAccess caller) =>
        TypedResults.Ok(new CallerDto(http.User.Identity?.Name ?? "", caller.IsAccount ? "account" : "key",
            http.User.FindFirst(System.Security.Claims.ClaimTypes.Role)?.Value, caller.Team,
            [.. http.User.FindAll(CallerAccess.ScopeClaim).Select(c => c.Value)]));

    public static async Task<Ok<IReadOnlyList<AccountDto>>> ListAccounts(AccountStore accounts, CancellationToken cancellationToken) =>
        TypedResults.Ok(await accounts.ListAsync(cancellationToken));

    public static async Task<Results<Created<AccountDto>, ValidationProblem>> CreateAccount(CreateAccountRequest request, AccountStore accounts)
    {
        var (account, errors) = await accounts.CreateAsync(request);
        return account is null
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["account"] = [.. errors] })
            : TypedResults.Created($"/api/users/{account.Id}", account);
    }

    public static async Task<Results<Ok<AccountDto>, NotFound, ValidationProblem>> UpdateAccount(Guid id, UpdateAccountRequest request, AccountStore accounts, CallerAccess caller)
    {
        if (await accounts.UpdateAsync(id, request, caller.AccountId) is not { } outcome)
        {
            return TypedResults.NotFound();
        }
        return outcome.Account is null
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["account"] = [.. outcome.Errors] })
            : TypedResults.Ok(outcome.Account);
    }

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult>> DeleteAccount(Guid id, AccountStore accounts, CallerAccess caller)
    {
        var (found, error) = await accounts.DeleteAsync(id, caller.AccountId);
        return !found ? TypedResults.NotFound()
            : error is not null ? TypedResults.Problem(error, title: "Conflict", statusCode: StatusCodes.Status409Conflict)
            : TypedResults.NoContent();
    }
}
