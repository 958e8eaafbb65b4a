using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AspireBatch.Worker.Execution;

namespace AspireBatch.Worker.NativeBatch;

/// <summary>A provider's batch as its /v1/batches shows it.</summary>
public sealed record RemoteBatch(string Id, string Status, string? OutputFileId, string? ErrorFileId, int Total, int Completed, int Failed,
    IReadOnlyDictionary<string, string> Metadata, long CreatedAt, string? Errors)
{
    /// <summary>OpenAI's final statuses: nothing changes after them but the files being read.</summary>
    public bool Ended => Status is "completed" or "failed" or "expired" or "cancelled";
}

/// <summary>The provider answered a batch call with an error; <see cref="Retryable"/> when waiting may help (429, 5xx, no answer).</summary>
public sealed class ProviderBatchException(string message, int? statusCode, bool retryable) : Exception(message)
{
    public int? StatusCode { get; } = statusCode;
    public bool Retryable { get; } = retryable;
}

/// <summary>
/// OpenAI's Files and Batch APIs at a provider's base URL. No automatic retries here (the standard resilience handler is
/// not used): a create sent twice would be a second batch, paid twice, so every retry is the engine's decision, made
/// from the stored stage.
/// </summary>
public sealed class ProviderBatchClient
{
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        ConnectTimeout = TimeSpan.FromSeconds(15),
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AutomaticDecompression = DecompressionMethods.All,
    })
    { Timeout = TimeSpan.FromMinutes(15) }; // a 200 MB upload or download takes a while

    public async Task<string> UploadAsync(CallTarget target, byte[] content, string fileName, CancellationToken cancellationToken)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
        };
        var file = new ByteArrayContent(content);
        file.Headers.ContentType = new MediaTypeHeaderValue("application/jsonl");
        form.Add(file, "file", fileName);
        var json = await SendAsync(target, HttpMethod.Post, "files", form, cancellationToken);
        return json["id"]?.GetValue<string>() ?? throw new ProviderBatchException("the upload's answer has no file id", 200, false);
    }

    public async Task<RemoteBatch> CreateAsync(CallTarget target, string inputFileId, string endpoint, IReadOnlyDictionary<string, string> metadata,
        CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["input_file_id"] = inputFileId,
            ["endpoint"] = endpoint,
            ["completion_window"] = "24h",
            ["metadata"] = new JsonObject(metadata.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))),
        };
        return Batch(await SendAsync(target, HttpMethod.Post, "batches", Json(body), cancellationToken));
    }

    public async Task<RemoteBatch> GetAsync(CallTarget target, string batchId, CancellationToken cancellationToken) =>
        Batch(await SendAsync(target, HttpMethod.Get, $"batches/{Uri.EscapeDataString(batchId)}", null, cancellationToken));

    public async Task<RemoteBatch> CancelAsync(CallTarget target, string batchId, CancellationToken cancellationToken)
    {
        try
        {
            return Batch(await SendAsync(target, HttpMethod.Post, $"batches/{Uri.EscapeDataString(batchId)}/cancel", Json(new JsonObject()), cancellationToken));
        }
        catch (ProviderBatchException e) when (e.StatusCode == 409)
        {
            // Already completed, failed, expired or finalizing: nothing to cancel, read it as it is.
            return await GetAsync(target, batchId, cancellationToken);
        }
    }

    /// <summary>
    /// Our batch among the provider's, by the metadata we sent with it: after a crash between the provider's create and
    /// our store, it is found here instead of created twice. Lists newest first and stops at batches created before
    /// <paramref name="notBefore"/> (unix seconds).
    /// </summary>
    public async Task<RemoteBatch?> FindAsync(CallTarget target, string key, string value, long notBefore, CancellationToken cancellationToken)
    {
        string? after = null;
        for (var page = 0; page < 100; page++)
        {
            var path = "batches?limit=100" + (after is null ? "" : $"&after={Uri.EscapeDataString(after)}");
            var list = await SendAsync(target, HttpMethod.Get, path, null, cancellationToken);
            var batches = list["data"]?.AsArray().Select(b => Batch(b!.AsObject())).ToList() ?? [];
            if (batches.FirstOrDefault(b => b.Metadata.TryGetValue(key, out var v) && v == value) is { } found)
            {
                return found;
            }
            if (batches.Count == 0 || list["has_more"]?.GetValue<bool>() != true || batches[^1].CreatedAt < notBefore)
            {
                return null;
            }
            after = batches[^1].Id;
        }
        return null;
    }

    /// <summary>A file's lines as they arrive (a 200 MB output is never held whole).</summary>
    public async IAsyncEnumerable<string> LinesAsync(CallTarget target, string fileId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var request = Request(target, HttpMethod.Get, $"files/{Uri.EscapeDataString(fileId)}/content", null);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw Failure(response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        }
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(cancellationToken), Encoding.UTF8);
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            yield return line;
        }
    }

    private async Task<JsonObject> SendAsync(CallTarget target, HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken)
    {
        using var request = Request(target, method, path, content);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new ProviderBatchException($"{target.ProviderName}: {e.Message}", null, true);
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw Failure(response.StatusCode, text);
            }
            try
            {
                return JsonNode.Parse(text) as JsonObject ?? throw new ProviderBatchException($"not a JSON object: {Cut(text)}", (int)response.StatusCode, true);
            }
            catch (JsonException)
            {
                throw new ProviderBatchException($"not JSON: {Cut(text)}", (int)response.StatusCode, true);
            }
        }
    }

    private static HttpRequestMessage Request(CallTarget target, HttpMethod method, string path, HttpContent? content)
    {
        var request = new HttpRequestMessage(method, new Uri(target.BaseUrl, path)) { Content = content };
        if (target.ApiKey is { Length: > 0 } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return request;
    }

    private static ProviderBatchException Failure(HttpStatusCode status, string body)
    {
        var code = (int)status;
        string message;
        try
        {
            message = JsonNode.Parse(body)?["error"]?["message"]?.GetValue<string>() ?? Cut(body);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            message = Cut(body);
        }
        return new ProviderBatchException($"HTTP {code}: {message}", code, code is 408 or 409 or 429 or >= 500);
    }

    private static StringContent Json(JsonObject body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static string Cut(string text) => text.Length > 300 ? text[..300] : text;

    private static RemoteBatch Batch(JsonObject json)
    {
        var counts = json["request_counts"] as JsonObject;
        var metadata = (json["metadata"] as JsonObject)?.Where(p => p.Value is JsonValue).ToDictionary(p => p.Key, p => p.Value!.ToString())
            ?? new Dictionary<string, string>();
        var errors = (json["errors"]?["data"] as JsonArray)?.Select(e => e?["message"]?.ToString()).Where(m => m is not null).Take(5).ToList();
        return new RemoteBatch(
            json["id"]?.GetValue<string>() ?? throw new ProviderBatchException("a batch without an id", 200, false),
            json["status"]?.GetValue<string>() ?? "unknown",
            json["output_file_id"]?.GetValue<string>(),
            json["error_file_id"]?.GetValue<string>(),
            counts?["total"]?.GetValue<int>() ?? 0,
            counts?["completed"]?.GetValue<int>() ?? 0,
            counts?["failed"]?.GetValue<int>() ?? 0,
            metadata,
            json["created_at"] is JsonValue created && created.TryGetValue<long>(out var at) ? at : 0,
            errors is { Count: > 0 } ? string.Join("; ", errors) : null);
    }

    internal static string Seconds(DateTimeOffset at) => at.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
}
