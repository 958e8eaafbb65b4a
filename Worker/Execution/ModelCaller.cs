using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using Microsoft.Extensions.Options;
using AspireBatch.Worker.Limits;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace AspireBatch.Worker.Execution;

/// <summary>The job was paused or cancelled while an item waited to retry: the item goes back unpaid.</summary>
public sealed class JobHaltedException() : Exception("the job is no longer running");

/// <summary>Every target of the item has its circuit open: the item goes back to the queue.</summary>
public sealed class CircuitOpenException(string target) : Exception($"the circuit of {target} is open");

/// <summary>
/// Sends an item to its targets in order. Per target: Polly retries 429, 5xx, timeouts and connection errors with
/// exponential backoff and jitter, or exactly the provider's Retry-After when it sends one; 400/401/403/404 are not
/// retried. When a target is exhausted the next one of the route takes the item (fallback).
/// </summary>
public sealed class ModelCaller
{
    private static readonly ResiliencePropertyKey<TimeSpan> AttemptTimeout = new("aspirebatch.attempt-timeout");
    private readonly ConcurrentDictionary<(Guid, TimeSpan), HttpClient> _clients = new();
    private readonly ResiliencePipeline<CallResult> _pipeline;
    private readonly WorkerOptions _options;
    private readonly WorkerTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly ProviderGuard _guard;

    public ModelCaller(IOptions<WorkerOptions> options, WorkerTelemetry telemetry, ProviderGuard guard, TimeProvider time)
    {
        _guard = guard;
        _options = options.Value;
        _telemetry = telemetry;
        _time = time;
        _pipeline = new ResiliencePipelineBuilder<CallResult>()
            .AddRetry(new RetryStrategyOptions<CallResult>
            {
                MaxRetryAttempts = _options.MaxAttempts - 1,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome switch
                {
                    { Result: { } result } => result.Retryable,
                    { Exception: HttpRequestException or TimeoutRejectedException or IOException } => true,
                    _ => false,
                }),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(RetryDelay(args.Outcome.Result?.RetryAfter, args.AttemptNumber)),
                OnRetry = args =>
                {
                    var cause = args.Outcome.Result?.ErrorCode ?? ErrorCodeOf(args.Outcome.Exception);
                    _telemetry.Retries.Add(1, new KeyValuePair<string, object?>("error.type", cause));
                    Activity.Current?.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection
                    {
                        ["retry.attempt"] = args.AttemptNumber + 1,
                        ["retry.cause"] = cause,
                        ["retry.wait_ms"] = (long)args.RetryDelay.TotalMilliseconds,
                    }));
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(new TimeoutStrategyOptions
            {
                TimeoutGenerator = args => ValueTask.FromResult(args.Context.Properties.GetValue(AttemptTimeout, TimeSpan.FromSeconds(30))),
            })
            .Build();
    }

    /// <param name="stillRunning">Asked before every call: false (the job was paused or cancelled) gives the item back.</param>
    public async Task<ItemOutcome> ProcessAsync(ClaimedItem item, RunningJob job, IReadOnlyList<CallTarget> chain, Func<bool> stillRunning, CancellationToken cancellationToken)
    {
        var attempts = new List<AttemptRecord>();
        CallResult? last = null;
        CallTarget? lastTarget = null;
        var number = 0;
        for (var index = 0; index < chain.Count; index++)
        {
            var target = chain[index];
            if (index > 0)
            {
                _telemetry.Fallbacks.Add(1);
                Activity.Current?.AddEvent(new ActivityEvent("fallback", tags: new ActivityTagsCollection
                {
                    ["fallback.from"] = chain[index - 1].Describe,
                    ["fallback.to"] = target.Describe,
                    ["fallback.reason"] = last?.ErrorCode,
                }));
            }
            if (await _guard.IsCircuitOpenAsync(target))
            {
                if (index == chain.Count - 1 && attempts.Count == 0)
                {
                    // No target left to fall back to: the item waits for the circuit rather than failing unpaid.
                    throw new CircuitOpenException(target.Describe);
                }
                // An open circuit sends the item straight to the next target, without a call.
                attempts.Add(new AttemptRecord(attempts.Count + 1, target.ProviderId, target.ProviderName, target.Model, null, "circuit_open",
                    $"the circuit of {target.ProviderName} is open", 0, 0, index > 0, _time.GetUtcNow(), null, null, null));
                last = new CallResult(null, null, "circuit_open", $"the circuit of {target.ProviderName} is open", true, null);
                lastTarget = target;
                number = attempts.Count;
                continue;
            }
            var body = job.Requests.Build(item.Payload, target.Model).ToJsonString();
            var estimatedTokens = _guard.EstimateTokens(item, job);
            var waitMs = 0;
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(AttemptTimeout, target.Timeout);
            try
            {
                last = await _pipeline.ExecuteAsync(async (ctx, state) =>
                {
                    if (!stillRunning())
                    {
                        throw new JobHaltedException();
                    }
                    state.Number++;
                    await using var slot = await _guard.EnterAsync(target, job, estimatedTokens, ctx.CancellationToken);
                    var started = _time.GetUtcNow();
                    var stopwatch = Stopwatch.StartNew();
                    CallResult result;
                    try
                    {
                        result = await CallAsync(target, body, ctx.CancellationToken);
                    }
                    catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException && !cancellationToken.IsCancellationRequested)
                    {
                        attempts.Add(Record(state.Number, target, null, ErrorCodeOf(e), Describe(e, target), stopwatch, waitMs, index > 0, started));
                        waitMs = (int)RetryDelay(null, state.Number - state.FirstOfTarget - 1).TotalMilliseconds;
                        await _guard.ObserveAsync(target, estimatedTokens, null, (int)stopwatch.ElapsedMilliseconds);
                        throw;
                    }
                    await _guard.ObserveAsync(target, estimatedTokens, result, (int)stopwatch.ElapsedMilliseconds);
                    attempts.Add(Record(state.Number, target, result, result.ErrorCode, result.ErrorMessage, stopwatch, waitMs, index > 0, started));
                    waitMs = result.Retryable ? (int)RetryDelay(result.RetryAfter, state.Number - state.FirstOfTarget - 1).TotalMilliseconds : 0;
                    return result;
                }, context, new AttemptState { Number = number, FirstOfTarget = number });
            }
            catch (Exception e) when (e is HttpRequestException or TimeoutRejectedException or IOException
                || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                last = new CallResult(null, null, ErrorCodeOf(e), Describe(e, target), true, null);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
            number = attempts.Count;
            lastTarget = target;
            if (last.Succeeded)
            {
                var cost = Pricing.Cost(last.InputTokens ?? 0, last.OutputTokens ?? 0, target.InputPricePerMTok, target.OutputPricePerMTok);
                attempts[^1] = attempts[^1] with { CostUsd = cost };
                _telemetry.Cost.Add((double)cost, new KeyValuePair<string, object?>("gen_ai.request.model", target.Model));
                return new ItemOutcome(item, ItemState.Succeeded, last.Text, last.Body, last.FinishReason, last.InputTokens, last.OutputTokens,
                    cost, attempts[^1].LatencyMs, target.ProviderId, target.Model, last.ResponseModel, last.StatusCode, Attempts: attempts);
            }
            if (!last.Retryable)
            {
                // A request the provider refuses will be refused by the next one too, or needs an operator.
                break;
            }
        }
        if (last is null || lastTarget is null)
        {
            return new ItemOutcome(item, ItemState.Failed, ErrorCode: "no_target",
                ErrorMessage: "the job's route or model has no enabled provider target", Attempts: attempts);
        }
        return new ItemOutcome(item, ItemState.Failed, ResponseBody: last.Body, LatencyMs: attempts.LastOrDefault()?.LatencyMs,
            ProviderId: lastTarget.ProviderId, ModelName: lastTarget.Model, StatusCode: last.StatusCode,
            ErrorCode: last.ErrorCode, ErrorMessage: last.ErrorMessage, Attempts: attempts);
    }

    private sealed class AttemptState
    {
        public int Number;
        public int FirstOfTarget;
    }

    private async Task<CallResult> CallAsync(CallTarget target, string body, CancellationToken cancellationToken)
    {
        using var activity = WorkerTelemetry.Source.StartActivity($"chat {target.Model}", ActivityKind.Client);
        activity?.SetTag("gen_ai.operation.name", "chat");
        activity?.SetTag("gen_ai.provider.name", target.ProviderName);
        activity?.SetTag("gen_ai.request.model", target.Model);
        activity?.SetTag("server.address", target.BaseUrl.Host);
        activity?.SetTag("server.port", target.BaseUrl.Port);
        if (_options.CaptureMessageContent && activity is { IsAllDataRequested: true })
        {
            activity.SetTag("gen_ai.input.messages", InputMessagesOf(body));
        }
        var stopwatch = Stopwatch.StartNew();
        var client = _clients.GetOrAdd((target.ProviderId, target.ConnectTimeout), key => new HttpClient(new SocketsHttpHandler
        {
            ConnectTimeout = key.Item2,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            MaxConnectionsPerServer = int.MaxValue,
        })
        { Timeout = Timeout.InfiniteTimeSpan });
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(target.BaseUrl, "chat/completions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (target.ApiKey is { Length: > 0 } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        try
        {
            using var response = await client.SendAsync(request, cancellationToken);
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var result = Interpret(response, text);
            activity?.SetTag("http.response.status_code", (int)response.StatusCode);
            if (result.Succeeded)
            {
                activity?.SetTag("gen_ai.response.model", result.ResponseModel);
                activity?.SetTag("gen_ai.response.id", result.ResponseId);
                activity?.SetTag("gen_ai.response.finish_reasons", new[] { result.FinishReason });
                activity?.SetTag("gen_ai.usage.input_tokens", result.InputTokens);
                activity?.SetTag("gen_ai.usage.output_tokens", result.OutputTokens);
                if (_options.CaptureMessageContent && activity is { IsAllDataRequested: true })
                {
                    activity.SetTag("gen_ai.output.messages", OutputMessagesOf(result));
                }
                var tags = new TagList { { "gen_ai.operation.name", "chat" }, { "gen_ai.provider.name", target.ProviderName }, { "gen_ai.request.model", target.Model } };
                _telemetry.TokenUsage.Record(result.InputTokens ?? 0, [.. tags, new("gen_ai.token.type", "input")]);
                _telemetry.TokenUsage.Record(result.OutputTokens ?? 0, [.. tags, new("gen_ai.token.type", "output")]);
                _telemetry.OperationDuration.Record(stopwatch.Elapsed.TotalSeconds, tags);
            }
            else
            {
                activity?.SetTag("error.type", result.ErrorCode);
                activity?.SetStatus(ActivityStatusCode.Error, result.ErrorCode);
                if (result.StatusCode == 429)
                {
                    _telemetry.RateLimited.Add(1, new KeyValuePair<string, object?>("gen_ai.provider.name", target.ProviderName));
                }
                _telemetry.OperationDuration.Record(stopwatch.Elapsed.TotalSeconds,
                    new TagList { { "gen_ai.operation.name", "chat" }, { "gen_ai.request.model", target.Model }, { "error.type", result.ErrorCode } });
            }
            return result;
        }
        catch (Exception e)
        {
            activity?.SetTag("error.type", ErrorCodeOf(e));
            activity?.SetStatus(ActivityStatusCode.Error, e.GetType().Name);
            throw;
        }
    }

    private static CallResult Interpret(HttpResponseMessage response, string body)
    {
        var status = (int)response.StatusCode;
        if (!response.IsSuccessStatusCode)
        {
            var retryable = status is 408 or 409 or 429 or >= 500;
            return new CallResult(status, body, $"http_{status}", ProviderMessage(body) ?? response.ReasonPhrase, retryable, RetryAfterOf(response));
        }
        try
        {
            var root = JsonNode.Parse(body)!.AsObject();
            var choice = root["choices"]?.AsArray().FirstOrDefault()
                ?? throw new JsonException("the answer has no choices");
            var text = choice["message"]?["content"]?.GetValue<string>() ?? "";
            return new CallResult(status, body, null, null, false, null, text,
                choice["finish_reason"]?.GetValue<string>(),
                root["usage"]?["prompt_tokens"]?.GetValue<int>(),
                root["usage"]?["completion_tokens"]?.GetValue<int>(),
                root["model"]?.GetValue<string>(),
                root["id"]?.GetValue<string>());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return new CallResult(status, body.Length > 2000 ? body[..2000] : body, "malformed_response", $"the provider's answer is not a chat completion: {e.Message}", true, null);
        }
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

    /// <summary>Retry-After (seconds or an HTTP date) or retry-after-ms, as the provider asked.</summary>
    internal static TimeSpan? RetryAfterOf(HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var ms) && double.TryParse(ms.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds))
        {
            return TimeSpan.FromMilliseconds(milliseconds);
        }
        return response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero,
            _ => null,
        };
    }

    /// <summary>The provider's wait when it names one (plus at most 10 % jitter), else exponential backoff with ±20 % jitter; capped.</summary>
    private TimeSpan RetryDelay(TimeSpan? retryAfter, int attempt)
    {
        var cap = TimeSpan.FromSeconds(_options.MaxRetryDelaySeconds);
        var delay = retryAfter is { } wait
            ? wait * (1 + Random.Shared.NextDouble() * 0.1)
            : TimeSpan.FromMilliseconds(_options.BaseRetryDelayMilliseconds * Math.Pow(2, Math.Max(0, attempt)) * (0.8 + Random.Shared.NextDouble() * 0.4));
        return delay < cap ? delay : cap;
    }

    private static AttemptRecord Record(int number, CallTarget target, CallResult? result, string? errorCode, string? message, Stopwatch stopwatch, int waitMs, bool fallback, DateTimeOffset started) =>
        new(number, target.ProviderId, target.ProviderName, target.Model, result?.StatusCode, errorCode, Truncate(message),
            (int)stopwatch.ElapsedMilliseconds, waitMs, fallback, started, result?.InputTokens, result?.OutputTokens, null);

    private static string ErrorCodeOf(Exception? e) => e switch
    {
        TimeoutRejectedException or OperationCanceledException => "timeout",
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => "connection_error",
        HttpRequestException or IOException => "connection_error",
        null => "unknown",
        _ => e.GetType().Name,
    };

    private static string Describe(Exception e, CallTarget target) => e switch
    {
        TimeoutRejectedException or OperationCanceledException => $"no answer from {target.ProviderName} within {target.Timeout.TotalSeconds:0} s",
        _ => $"{target.ProviderName}: {e.Message}",
    };

    private static string? ProviderMessage(string body)
    {
        try
        {
            return JsonNode.Parse(body)?["error"]?["message"]?.GetValue<string>();
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return Truncate(body);
        }
    }

    private static string? Truncate(string? text) => text is { Length: > 1000 } ? text[..1000] : text;
}
