using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace AspireBatch.Dashboard.Infrastructure;

/// <summary>Plain form posts for sign-in and sign-out: they work without JavaScript and before any circuit exists.</summary>
public static class AccountEndpoints
{
    public static void MapAccountEndpoints(this WebApplication app)
    {
        app.MapPost("/account/login", SignIn).AllowAnonymous();
        app.MapGet("/logout", (Delegate)SignOut);
        app.MapPost("/logout", (Delegate)SignOut);
    }

    public static async Task<IResult> SignIn(
        HttpContext context, [FromForm] string? user, [FromForm] string? password, [FromForm] string? returnUrl,
        IOptions<OperatorOptions> options, ILoggerFactory loggers)
    {
        var target = OperatorCredentials.SafeReturnUrl(returnUrl);
        if (!OperatorCredentials.Matches(user, password, options.Value))
        {
            loggers.CreateLogger("AspireBatch.Dashboard.SignIn").LogWarning("Failed operator sign-in from {Address}", context.Connection.RemoteIpAddress);
            return Results.Redirect($"/login?error=1&returnUrl={Uri.EscapeDataString(target)}");
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, options.Value.User)], CookieAuthenticationDefaults.AuthenticationScheme);
        await context.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, new ClaimsPrincipal(identity),
            new AuthenticationProperties { IsPersistent = false });
        return Results.LocalRedirect(target);
    }

    public static async Task<IResult> SignOut(HttpContext context)
    {
        await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Results.Redirect("/login?signedOut=1");
    }
}
