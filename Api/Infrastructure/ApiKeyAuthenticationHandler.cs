using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using AspireBatch.Api.Services.Access;
using AspireBatch.Api.Services.OpenAi;
using AspireBatch.Contracts;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace AspireBatch.Api.Infrastructure;

/// <summary>
/// Accepts `Authorization: Bearer {key}`: the AppHost's key (compared in constant time) is the first admin key, of team
/// admin; any other is looked up by its hash among the teams' keys (<see cref="ApiKeyDirectory"/>). The principal
/// carries the key's team, scopes, id and rate.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IOptions<ApiOptions> api,
    ApiKeyDirectory keys) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return AuthenticateResult.NoResult();
        }
        var secret = header["Bearer ".Length..].Trim();
        if (IsAppHostKey(secret, api.Value.Key))
        {
            return Success(CallerAccess.AppHostKeyName, ApiScopes.AdminTeam, [ApiScopes.Admin], keyId: null, requestsPerMinute: null);
        }
        return await keys.FindAsync(secret, Context.RequestAborted) is { } key
            ? Success(key.Name, key.Team, key.Scopes, key.Id, key.RequestsPerMinute)
            : AuthenticateResult.Fail("Invalid API key");
    }

    /// <summary>Compared in constant time, so the answer's timing tells nothing of the key.</summary>
    public static bool IsAppHostKey(string secret, string key) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(secret)), SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    private static AuthenticateResult Success(string name, string team, IEnumerable<string> scopes, Guid? keyId, int? requestsPerMinute)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, name), new(CallerAccess.TeamClaim, team) };
        claims.AddRange(scopes.Select(s => new Claim(CallerAccess.ScopeClaim, s)));
        if (keyId is { } id)
        {
            claims.Add(new Claim(CallerAccess.KeyIdClaim, id.ToString()));
        }
        if (requestsPerMinute is { } rpm)
        {
            claims.Add(new Claim(CallerAccess.RequestsPerMinuteClaim, rpm.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    // A key without the scope gets a reason, not a bare 403; OpenAI's API answers in OpenAI's shape.
    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        const string detail = "This key's scopes do not allow this request (scopes: jobs, batches, providers:admin, read-only).";
        if (Request.Path.StartsWithSegments("/v1"))
        {
            await Response.WriteAsJsonAsync(new OpenAiFailure(StatusCodes.Status403Forbidden, detail, Type: "permission_error").ToResponse(), Context.RequestAborted);
            return;
        }
        await Results.Problem(title: "Forbidden", detail: detail, statusCode: StatusCodes.Status403Forbidden).ExecuteAsync(Context);
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
