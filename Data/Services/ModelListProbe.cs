using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Data.Services;

/// <summary>
/// Calls a provider's /models and says plainly what happened: the one probe behind the Api's connection test and
/// the Worker's periodic health check. No resilience handler: a probe reports the first answer, it does not retry.
/// </summary>
public sealed class ModelListProbe(IHttpClientFactory httpClientFactory)
{
    public const string HttpClientName = "model-list-probe";

    public async Task<ConnectionTestResult> TestAsync(string baseUrl, string? apiKey, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var client = httpClientFactory.CreateClient(HttpClientName);
        using var request = new HttpRequestMessage(HttpMethod.Get, baseUrl.TrimEnd('/') + "/models");
        if (!string.IsNullOrEmpty(apiKey))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var stopwatch = Stopwatch.StartNew();
        try
        {
            using var response = await client.SendAsync(request, cts.Token);
            var latency = stopwatch.ElapsedMilliseconds;
            var status = (int)response.StatusCode;
            if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
            {
                return new(false, status, latency, "authentication failed: the provider refused the key", []);
            }
            if (!response.IsSuccessStatusCode)
            {
                return new(false, status, latency, $"the provider answered {status} {response.ReasonPhrase}", []);
            }
            using var body = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cts.Token), cancellationToken: cts.Token);
            var models = body.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Array
                ? data.EnumerateArray().Where(m => m.TryGetProperty("id", out _)).Select(m => m.GetProperty("id").GetString()!).Order().ToList()
                : [];
            return new(true, status, latency, $"connected: {models.Count} models", models);
        }
        catch (HttpRequestException e)
        {
            return new(false, null, stopwatch.ElapsedMilliseconds, $"cannot connect: {e.Message}", []);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new(false, null, stopwatch.ElapsedMilliseconds, $"cannot connect: no answer within {timeout.TotalSeconds:0} s", []);
        }
        catch (JsonException)
        {
            return new(false, 200, stopwatch.ElapsedMilliseconds, "the provider answered, but /models is not an OpenAI model list", []);
        }
    }
}
