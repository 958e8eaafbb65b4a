using System.Net.Http.Headers;
using AspireBatch.Dashboard.Infrastructure;
using Microsoft.AspNetCore.Components.Authorization;

namespace AspireBatch.Dashboard.Api;

/// <summary>
/// The signed-in operator's Api token, read from the sign-in cookie's claims: through the circuit's authentication
/// state in an interactive page, through the request in an endpoint (an export). The Api sees each person as
/// themselves, with their own role; the Dashboard holds no key of its own.
/// </summary>
public sealed class OperatorToken(AuthenticationStateProvider? authentication = null, IHttpContextAccessor? http = null)
{
    public async Task<AuthenticationHeaderValue?> HeaderAsync()
    {
        var token = http?.HttpContext?.User.FindFirst(OperatorCredentials.AccessTokenClaim)?.Value;
        if (token is null && authentication is not null)
        {
            try
            {
                token = (await authentication.GetAuthenticationStateAsync()).User.FindFirst(OperatorCredentials.AccessTokenClaim)?.Value;
            }
            catch (InvalidOperationException)
            {
                // Outside a circuit and a request the provider has no state: no operator, no token.
            }
        }
        return token is null ? null : new AuthenticationHeaderValue("Bearer", token);
    }
}
