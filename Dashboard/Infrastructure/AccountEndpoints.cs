using System.Net;
using System.Security.Claims;
using AspireBatch.Contracts;
using AspireBatch.Dashboard.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;

namespace AspireBatch.Dashboard.Infrastructure;

/// <summary>
/// Plain form posts for sign-in and sign-out: they work without JavaScript and before any circuit exists. The Api
/// checks the password (ASP.NET Core Identity, with lockout); the Dashboard keeps the token it answers with in its
/// encrypted cookie, for as long as the token lives (12 hours). The Api limits sign-ins and locks accounts; a refusal
/// comes back here as the reason on the sign-in page.
/// </summary>
public static class AccountEndpoints
{
    public static void MapAccountEndpoints(this WebApplication app)
    {
        app.MapPost("/account/login", SignIn).AllowAnonymous();
        app.MapSsoEndpoint();
        app.MapGet("/logout", (Delegate)SignOut);
        app.MapPost("/logout", (Delegate)SignOut);
    }

    public static async Task<IResult> SignIn(
        HttpContext context, [FromForm] string? user, [FromForm] string? password, [FromForm] string? returnUrl, BatchApiClient api, ILoggerFactory loggers)
    {
        var target = OperatorCredentials.SafeReturnUrl(returnUrl);
        SignInToken token;
        CallerDto caller;
        try
        {
            token = await api.SignInAsync(new SignInRequest(user ?? "", password ?? ""), context.RequestAborted);
            caller = await api.GetCallerAsync(token.AccessToken, context.RequestAborted);
        }
        catch (ApiProblemException e) when (e.Problem.Status is (int)HttpStatusCode.Unauthorized or (int)HttpStatusCode.TooManyRequests)
        {
            loggers.CreateLogger("AspireBatch.Dashboard.SignIn").LogWarning("Refused operator sign-in from {Address}: {Detail}", context.Connection.RemoteIpAddress, e.Problem.Detail);
            var error = e.Problem.Status == (int)HttpStatusCode.TooManyRequests ? "busy"
                : e.Problem.Detail?.Contains("locked", StringComparison.OrdinalIgnoreCase) == true ? "locked" : "1";
            return Results.Redirect($"/login?error={error}&returnUrl={Uri.EscapeDataString(target)}");
        }
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(Identity(caller, token)),
            new AuthenticationProperties { IsPersistent = false, ExpiresUtc = DateTimeOffset.UtcNow.AddSeconds(token.ExpiresIn), AllowRefresh = false });
        return Results.LocalRedirect(target);
    }

    /// <summary>The sign-in cookie's identity: the account's name and role, and the Api token it calls with.</summary>
    public static ClaimsIdentity Identity(CallerDto caller, SignInToken token) => new(
    [
        new Claim(ClaimTypes.Name, caller.Name),
        new Claim(ClaimTypes.Role, caller.Role ?? AccountRoles.Viewer),
        new Claim(OperatorCredentials.AccessTokenClaim, token.AccessToken),
    ], CookieAuthenticationDefaults.AuthenticationScheme);

    public static async Task<IResult> SignOut(HttpContext context)
    {
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Results.Redirect("/login?signedOut=1");
    }
}
