using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using AspireBatch.Api.Services.OpenAi;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AspireBatch.Api.Infrastructure;

/// <summary>Accepts `Authorization: Bearer {api-key}`; compares in constant time.</summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<ApiOptions> api) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }
        var presented = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
        var expected = Encoding.UTF8.GetBytes(api.Value.Key);
        if (!CryptographicOperations.FixedTimeEquals(presented, expected))
        {
            return Task.FromResult(AuthenticateResult.Fail("Invalid API key"));
        }
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, "api-client")], SchemeName);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    // A ProblemDetails body tells a caller why, where a bare 401 would not.
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        // OpenAI's API answers in OpenAI's error shape, so SDKs raise their usual authentication error.
        if (Request.Path.StartsWithSegments("/v1"))
        {
            var presented = Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase);
            await Response.WriteAsJsonAsync(OpenAiFailure.Unauthorized(presented).ToResponse(), Context.RequestAborted);
            return;
        }
        await Results.Problem(
            title: "Unauthorized",
            detail: "Send the API key as `Authorization: Bearer <api-key>` (AppHost parameter api-key).",
            statusCode: StatusCodes.Status401Unauthorized).ExecuteAsync(Context);
    }
}
