using AspireBatch.Contracts;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using AspireBatch.Worker.Limits;
using Microsoft.Extensions.Options;

namespace AspireBatch.Worker.Execution;

/// <summary>
/// One HTTP call to a provider's chat completions, as a GenAI client span with its metrics. The answer is read as
/// text (gzip and deflate undone) and judged by <see cref="ResponseInterpreter"/>; nothing in its shape can throw.
/// </summary>
public sealed class ProviderClient(IOptions<WorkerOptions> options, WorkerTelemetry telemetry)
{
    private readonly ConcurrentDictionary<(Guid, TimeSpan), HttpClient> _clients = new();

    public async Task<CallResult> SendAsync(CallTarget target, string body, CancellationToken cancellationToken, JobEndpoint endpoint = JobEndpoint.ChatCompletions)
    {
        // The GenAI conventions' operation names: chat and embeddings.
        var operation = endpoint == JobEndpoint.Embeddings ? "embeddings" : "chat";
        using var activity = WorkerTelemetry.Source.StartActivity($"{operation} {target.Model}", ActivityKind.Client);
        activity?.SetTag("gen_ai.operation.name", operation);
        activity?.SetTag("gen_ai.provider.name", target.ProviderName);
        activity?.SetTag("gen_ai.request.model", target.Model);
        activity?.SetTag("server.address", target.BaseUrl.Host);
        activity?.SetTag("server.port", target.BaseUrl.Port);
        var captureContent = options.Value.CaptureMessageContent && activity is { IsAllDataRequested: true };
        if (captureContent && endpoint == JobEndpoint.ChatCompletions)
        {
            activity!.SetTag("gen_ai.input.messages", InputMessagesOf(body));
        }
        var stopwatch = Stopwatch.StartNew();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target.BaseUrl, endpoint == JobEndpoint.Embeddings ? "embeddings" : "chat/completions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (target.ApiKey is { Length: > 0 } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        try
        {
            using var response = await ClientFor(target).SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var result = ResponseInterpreter.Interpret(response.StatusCode, response.ReasonPhrase,
                response.Content.Headers.ContentType?.MediaType, text, RetryAfterOf(response), endpoint) with
            {
                RateHeaders = ProviderRateHeaders.Parse(response.Headers),
            };
            activity?.SetTag("http.response.status_code", (int)response.StatusCode);
            Record(activity, target, result, stopwatch.Elapsed, captureContent && endpoint == JobEndpoint.ChatCompletions, operation);
            return result;
        }
        catch (Exception e)
        {
            activity?.SetTag("error.type", ModelCaller.ErrorCodeOf(e));
            activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
            throw;
        }
    }

    private HttpClient ClientFor(CallTarget target) =>
        _clients.GetOrAdd((target.ProviderId, target.ConnectTimeout), key => new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = key.Item2,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = int.MaxValue,
            // Some providers and proxies compress whether asked or not.
            AutomaticDecompression = DecompressionMethods.GZip | DecompressionMethods.Deflate | DecompressionMethods.Brotli,
        })
        { Timeout = Timeout.InfiniteTimeSpan });

    private void Record(Activity? activity, CallTarget target, CallResult result, TimeSpan elapsed, bool captureContent, string operation)
    {
        var tags = new TagList { { "gen_ai.operation.name", operation }, { "gen_ai.provider.name", target.ProviderName }, { "gen_ai.request.model", target.Model } };
        if (result.Usage is { } usage)
        {
            activity?.SetTag("gen_ai.usage.input_tokens", usage.InputTokens);
            activity?.SetTag("gen_ai.usage.output_tokens", usage.OutputTokens);
            telemetry.TokenUsage.Record(usage.InputTokens, [.. tags, new("gen_ai.token.type", "input")]);
            telemetry.TokenUsage.Record(usage.OutputTokens, [.. tags, new("gen_ai.token.type", "output")]);
        }
        if (result.Succeeded)
        {
            activity?.SetTag("gen_ai.response.model", result.ResponseModel);
            activity?.SetTag("gen_ai.response.id", result.ResponseId);
            if (result.FinishReason is not null)
            {
                activity?.SetTag("gen_ai.response.finish_reasons", new[] { result.FinishReason });
            }
            if (result.Vectors is { Count: > 0 } vectors)
            {
                activity?.SetTag("gen_ai.embeddings.dimension.count", vectors[0].Length);
            }
            if (captureContent)
            {
                activity!.SetTag("gen_ai.output.messages", OutputMessagesOf(result));
            }
            telemetry.OperationDuration.Record(elapsed.TotalSeconds, tags);
            return;
        }
        activity?.SetTag("error.type", result.ErrorCode);
        activity?.SetStatus(ActivityStatusCode.Error, result.ErrorCode);
        if (result.StatusCode == 429)
        {
            telemetry.RateLimited.Add(1, new KeyValuePair<string, object?>("gen_ai.provider.name", target.ProviderName));
        }
        telemetry.OperationDuration.Record(elapsed.TotalSeconds, [.. tags, new("error.type", result.ErrorCode)]);
    }

    /// <summary>The request's messages in the GenAI conventions' shape: role and text parts.</summary>
    private static string InputMessagesOf(string body)
    {
        var messages = new JsonArray();
        foreach (var message in JsonNode.Parse(body)?["messages"]?.AsArray() ?? [])
        {
            messages.Add(new JsonObject
            {
                ["role"] = message?["role"]?.DeepClone(),
                ["parts"] = new JsonArray(new JsonObject { ["type"] = "text", ["content"] = message?["content"]?.DeepClone() }),
            });
        }
        return messages.ToJsonString();
    }

    private static string OutputMessagesOf(CallResult result) => new JsonArray(new JsonObject
    {
        ["role"] = "assistant",
        ["parts"] = new JsonArray(new JsonObject { ["type"] = "text", ["content"] = result.Text }),
        ["finish_reason"] = result.FinishReason,
    }).ToJsonString();

    internal static TimeSpan? RetryAfterOf(HttpResponseMessage response) => RetryAfterOf(response.Headers, DateTimeOffset.UtcNow);

    /// <summary>
    /// Retry-After (seconds or an HTTP date; a date already past is 0) or retry-after-ms, as the provider asked.
    /// A retry-after-ms that is not a finite, non-negative number is ignored; one beyond a day counts as a day
    /// (the wait is capped far below that anyway).
    /// </summary>
    internal static TimeSpan? RetryAfterOf(HttpResponseHeaders headers, DateTimeOffset now)
    {
        if (headers.TryGetValues("retry-after-ms", out var ms) && double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds)
            && double.IsFinite(milliseconds) && milliseconds >= 0)
        {
            return TimeSpan.FromMilliseconds(Math.Min(milliseconds, TimeSpan.FromDays(1).TotalMilliseconds));
        }
        return headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - now is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
            _ => null,
        };
    }
}
