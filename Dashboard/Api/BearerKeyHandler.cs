using System.Net.Http.Headers;
using AspireBatch.Dashboard.Infrastructure;
using Microsoft.Extensions.Options;

namespace AspireBatch.Dashboard.Api;

/// <summary>Adds the Api's bearer key to every call; the key never reaches the browser.</summary>
public sealed class BearerKeyHandler(IOptions<ApiOptions> options) : DelegatingHandler
{
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Value.Key);
        return base.SendAsync(request, cancellationToken);
    }
}
