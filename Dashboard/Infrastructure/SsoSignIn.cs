using System.Security.Claims;
using AspireBatch.Contracts;
using AspireBatch.Dashboard.Api;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace AspireBatch.Dashboard.Infrastructure;

/// <summary>
/// Optional single sign-on (configuration section Oidc): the person signs in at the OpenID Connect provider; the
/// Dashboard hands the provider's ID token to the Api, which answers a token for the account of that name, exactly as
/// a password sign-in does. No account, no entry: an admin creates accounts (and their roles) on the Users page.
/// </summary>
public static class SsoSignIn
{
    public const string Scheme = "oidc";

    public static void AddSso(this WebApplicationBuilder builder, AuthenticationBuilder authentication)
    {
        var sso = builder.Configuration.GetSection(SsoOptions.Section).Get<SsoOptions>() ?? new SsoOptions();
        builder.Services.AddSingleton(sso);
        if (!sso.Enabled)
        {
            return;
        }
        // Coming back from the provider is a cross-site navigation: a Strict sign-in cookie would not be sent on it.
        builder.Services.PostConfigure<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme, o => o.Cookie.SameSite = SameSiteMode.Lax);
        authentication.AddOpenIdConnect(Scheme, sso.DisplayName, options =>
        {
            options.Authority = sso.Authority;
            options.ClientId = sso.ClientId;
            options.ClientSecret = sso.ClientSecret;
            options.RequireHttpsMetadata = sso.RequireHttpsMetadata;
            options.ResponseType = OpenIdConnectResponseType.Code;
            // Back by a top-level GET: the correlation and nonce cookies can stay SameSite=Lax.
            options.ResponseMode = OpenIdConnectResponseMode.Query;
            options.UsePkce = true;
            options.SignInScheme = CookieAuthenticationDefaults.AuthenticationScheme;
            options.CorrelationCookie.SameSite = SameSiteMode.Lax;
            options.NonceCookie.SameSite = SameSiteMode.Lax;
            options.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.NonceCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            options.Scope.Clear();
            options.Scope.Add("openid");
            options.Scope.Add("profile");
            options.Events.OnTokenValidated = ExchangeAsync;
            options.Events.OnRemoteFailure = context =>
            {
                context.Response.Redirect("/login?error=sso");
                context.HandleResponse();
                return Task.CompletedTask;
            };
        });
    }

    public static void MapSsoEndpoint(this WebApplication app) =>
        app.MapGet("/account/sso", (string? returnUrl, SsoOptions sso) => sso.Enabled
                ? Results.Challenge(new AuthenticationProperties { RedirectUri = OperatorCredentials.SafeReturnUrl(returnUrl) }, [Scheme])
                : Results.NotFound())
            .AllowAnonymous();

    /// <summary>Trades the provider's ID token for the Api's token of the account it names; no account fails the sign-in.</summary>
    private static async Task ExchangeAsync(TokenValidatedContext context)
    {
        var idToken = context.TokenEndpointResponse?.IdToken ?? context.ProtocolMessage.IdToken;
        var api = context.HttpContext.RequestServices.GetRequiredService<BatchApiClient>();
        try
        {
            var token = await api.SignInWithProviderAsync(idToken, context.HttpContext.RequestAborted);
            var caller = await api.GetCallerAsync(token.AccessToken, context.HttpContext.RequestAborted);
            context.Principal = new ClaimsPrincipal(AccountEndpoints.Identity(caller, token));
            context.Properties!.ExpiresUtc = DateTimeOffset.UtcNow.AddSeconds(token.ExpiresIn);
            context.Properties.AllowRefresh = false;
            context.Properties.IsPersistent = false;
        }
        catch (ApiProblemException e)
        {
            context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("AspireBatch.Dashboard.SignIn")
                .LogWarning("Refused single sign-on from {Address}: {Detail}", context.HttpContext.Connection.RemoteIpAddress, e.Problem.Detail);
            context.Fail(e.Problem.Detail ?? "refused");
        }
    }
}
