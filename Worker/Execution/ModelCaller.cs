using System.Diagnostics;
using System.Text.Json.Nodes;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using AspireBatch.Worker.Limits;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using Polly.Timeout;
using AspireBatch.Data.Lifecycle;

namespace AspireBatch.Worker.Execution;

/// <summary>
/// Sends an item to its targets in order. Per target: Polly retries what <see cref="ResponseInterpreter"/> calls
/// retryable (429, 5xx, timeouts, connection errors, unusable answers) with exponential backoff and jitter, or
/// exactly the provider's Retry-After when it sends one. When a target is exhausted the next one of the route
/// takes the item (fallback). Every call is an attempt in the ledger, with its cost when the provider charged it;
/// a failure of our own returns the item to the queue instead of failing it.
/// </summary>
public sealed class ModelCaller
{
    private static readonly ResiliencePropertyKey<TimeSpan> AttemptTimeout = new("aspirebatch.attempt-timeout");
    private static readonly ResiliencePropertyKey<AttemptState> State = new("aspirebatch.attempt-state");
    private readonly ResiliencePipeline<CallResult> _pipeline;
    private readonly WorkerOptions _options;
    private readonly WorkerTelemetry _telemetry;
    private readonly TimeProvider _time;
    private readonly ProviderGuard _guard;
    private readonly ProviderClient _client;
    private readonly CallJournal _journal;
    private readonly ILogger<ModelCaller> _logger;

    public ModelCaller(IOptions<WorkerOptions> options, WorkerTelemetry telemetry, ProviderGuard guard, ProviderClient client,
        CallJournal journal, TimeProvider time, ILogger<ModelCaller> logger)
    {
        _guard = guard;
        _client = client;
        _journal = journal;
        _options = options.Value;
        _telemetry = telemetry;
        _time = time;
        _logger = logger;
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
                    // The wait Polly takes is the wait the next attempt records.
                    if (args.Context.Properties.TryGetValue(State, out var state))
                    {
                        state.NextWaitMs = (int)args.RetryDelay.TotalMilliseconds;
                    }
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

    /// <param name="stillRunning">Asked before every call and before failing the item: false (the job was paused, cancelled or moved to another target) gives the item back.</param>
    public async Task<ItemOutcome> ProcessAsync(ClaimedItem item, RunningJob job, IReadOnlyList<CallTarget> chain, Func<bool> stillRunning, CancellationToken cancellationToken)
    {
        var attempts = new List<AttemptRecord>();
        try
        {
            return await CallTargetsAsync(item, job, chain, stillRunning, attempts, cancellationToken);
        }
        catch (JobHaltedException)
        {
            throw new JobHaltedException(attempts);
        }
        catch (Exception e) when (e is not (CircuitOpenException or OperationCanceledException) || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return OwnFault(item, attempts, e is OwnFaultException own ? own.InnerException! : e);
        }
    }

    /// <summary>
    /// Our side failed: the item goes back to the queue with the attempts it made (and what they cost) plus one
    /// internal attempt, and fails only once it has met <see cref="WorkerOptions.MaxInternalErrors"/> of them.
    /// </summary>
    internal ItemOutcome OwnFault(ClaimedItem item, List<AttemptRecord> attempts, Exception e)
    {
        _logger.LogError(e, "Item {ItemId} of job {JobId} met an internal error; it goes back to the queue", item.Id, item.JobId);
        var last = attempts.LastOrDefault();
        attempts.Add(new AttemptRecord(attempts.Count + 1, last?.ProviderId, last?.ProviderName ?? "aspirebatch", last?.ModelName ?? "-", null,
            LedgerCodes.Internal, Truncate($"{e.GetType().Name}: {e.Message}"), 0, 0, false, _time.GetUtcNow(), null, null, null));
        var exhausted = item.InternalErrors + 1 >= _options.MaxInternalErrors;
        return new ItemOutcome(item, exhausted ? ItemState.Failed : ItemState.Pending,
            ErrorCode: exhausted ? LedgerCodes.InternalErrorLimit : null,
            ErrorMessage: exhausted ? $"{_options.MaxInternalErrors} internal errors in a row on our side; the last: {e.Message}" : null,
            Attempts: attempts, Internal: true, ResultAttemptInClaim: exhausted ? attempts.Count : null);
    }

    private async Task<ItemOutcome> CallTargetsAsync(ClaimedItem item, RunningJob job, IReadOnlyList<CallTarget> chain, Func<bool> stillRunning,
        List<AttemptRecord> attempts, CancellationToken cancellationToken)
    {
        CallResult? last = null;
        CallTarget? lastTarget = null;
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
                continue;
            }
            var request = job.Requests.Build(item.Payload, target.Model);
            last = await CallWithRetriesAsync(item, job, target, request.ToJsonString(), 0, index > 0, stillRunning, attempts, cancellationToken);
            if (job.Schemas.For(request["response_format"]) is { } schema)
            {
                last = await ReaskUntilValidAsync(item, job, target, request, schema, last, index > 0, stillRunning, attempts, cancellationToken);
            }
            lastTarget = target;
            if (last.ErrorCode == "circuit_open" && index == chain.Count - 1)
            {
                // The provider went away during the item's tries, with no target left: the item waits for the circuit
                // (back to the queue with the calls it made) instead of failing because the provider is down.
                throw new CircuitOpenException(target.Describe, attempts);
            }
            if (last.Succeeded)
            {
                var answer = attempts[^1];
                return new ItemOutcome(item, ItemState.Succeeded, last.Text, last.Body, last.FinishReason, answer.InputTokens, answer.OutputTokens,
                    answer.CostUsd, answer.LatencyMs, target.ProviderId, target.Model, last.ResponseModel, last.StatusCode, Attempts: attempts,
                    UsageSource: answer.UsageSource, CachedInputTokens: answer.CachedInputTokens, ReasoningTokens: answer.ReasoningTokens,
                    ResponseId: last.ResponseId, RoutePosition: target.RoutePosition, ResultAttemptInClaim: answer.Number,
                    Embedding: last.Vectors is { } vectors ? Embeddings.Pack(vectors) : null, EmbeddingDimensions: last.Vectors?[0].Length);
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
                ErrorMessage: "the job's route or model has no enabled provider target", Attempts: attempts,
                ResultAttemptInClaim: attempts.Count > 0 ? attempts.Count : null);
        }
        if (!stillRunning())
        {
            // The job was paused, cancelled or moved while the last try failed: the record is not failed, it goes back.
            throw new JobHaltedException(attempts);
        }
        var final = attempts.LastOrDefault();
        // A record whose answers never followed the schema keeps the last of them beside the errors.
        var keptAnswer = last.ErrorCode == LedgerCodes.SchemaInvalid ? last : null;
        return new ItemOutcome(item, ItemState.Failed, ResponseText: keptAnswer?.Text, ResponseBody: last.Body, FinishReason: keptAnswer?.FinishReason,
            ResponseModel: keptAnswer?.ResponseModel, LatencyMs: final?.LatencyMs,
            InputTokens: final?.InputTokens, OutputTokens: final?.OutputTokens,
            ProviderId: lastTarget.ProviderId, ModelName: lastTarget.Model, StatusCode: last.StatusCode,
            ErrorCode: last.ErrorCode, ErrorMessage: last.ErrorMessage, Attempts: attempts,
            UsageSource: final?.UsageSource, CachedInputTokens: final?.CachedInputTokens, ReasoningTokens: final?.ReasoningTokens,
            // A failure's lineage is its last attempt's: the target it ended on and whatever id the provider gave that answer.
            ResponseId: last.ResponseId, RoutePosition: lastTarget.RoutePosition, ResultAttemptInClaim: final?.Number);
    }

    /// <summary>
    /// Checks each answer of the target against the schema; one that is not JSON or breaks it is asked again (the same
    /// request, the answer, the errors), up to <see cref="WorkerOptions.MaxSchemaReasks"/> times per record across its
    /// targets. The attempt whose answer failed is marked schema_invalid (its cost stands). A re-ask is an ordinary call:
    /// its 5xx and timeouts are retried by the pipeline, and a target exhausted by them hands the record to the next one.
    /// Returns the valid answer, a schema_invalid result once the re-asks are spent (not retryable: the record fails
    /// rather than paying another provider), or the failure that ended a re-ask.
    /// </summary>
    private async Task<CallResult> ReaskUntilValidAsync(ClaimedItem item, RunningJob job, CallTarget target, JsonObject request, AnswerSchema schema,
        CallResult answer, bool fallback, Func<bool> stillRunning, List<AttemptRecord> attempts, CancellationToken cancellationToken)
    {
        var last = answer;
        while (last.Succeeded)
        {
            var check = schema.Check(last.Text);
            if (check.IsValid)
            {
                return last;
            }
            attempts[^1] = attempts[^1] with { ErrorCode = LedgerCodes.SchemaInvalid, ErrorMessage = Truncate(check.Summary) };
            var reasks = attempts.Count(a => a.ErrorCode == LedgerCodes.SchemaInvalid);
            if (reasks > _options.MaxSchemaReasks)
            {
                return last with
                {
                    ErrorCode = LedgerCodes.SchemaInvalid, Retryable = false,
                    ErrorMessage = $"the answer did not follow the JSON schema after {reasks} tries: {check.Summary}",
                };
            }
            _telemetry.SchemaReasks.Add(1);
            Activity.Current?.AddEvent(new ActivityEvent("schema_reask", tags: new ActivityTagsCollection
            {
                ["reask.number"] = reasks,
                ["reask.errors"] = check.Violations.Count,
            }));
            var reask = SchemaReask.Build(request, last.Text, check);
            var extraTokens = TokenCounter.Count(last.Text) + TokenCounter.Count(SchemaReask.Feedback(check));
            last = await CallWithRetriesAsync(item, job, target, reask.ToJsonString(), extraTokens, fallback, stillRunning, attempts, cancellationToken);
        }
        return last;
    }

    /// <summary>One target with its retries; returns the last answer, or the fault that ended the tries.</summary>
    /// <param name="extraInputTokens">Input beyond the record's estimate (a re-ask's answer and errors), for limits and prices.</param>
    private async Task<CallResult> CallWithRetriesAsync(ClaimedItem item, RunningJob job, CallTarget target, string body, int extraInputTokens,
        bool fallback, Func<bool> stillRunning, List<AttemptRecord> attempts, CancellationToken cancellationToken)
    {
        var estimatedTokens = _guard.EstimateTokens(item, job) + extraInputTokens;
        var inputTokens = item.EstimatedInputTokens + extraInputTokens;
        // What the call may cost at most, written down before it goes in case this worker dies during it.
        var possibleCost = Pricing.Cost(inputTokens, Pricing.OutputTokensForEstimate(job.Endpoint, job.MaxTokens),
            target.InputPricePerMTok, target.OutputPricePerMTok);
        var state = new AttemptState();
        var firstAttempt = attempts.Count;
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(AttemptTimeout, target.Timeout);
        context.Properties.Set(State, state);
        try
        {
            return await _pipeline.ExecuteAsync(async (ctx, _) =>
            {
                if (!stillRunning())
                {
                    throw new JobHaltedException();
                }
                if (attempts.Count > firstAttempt && attempts[^1].ErrorCode == "connection_error" && await _guard.IsCircuitOpenAsync(target))
                {
                    // A dead connection says nothing about the record, and the breaker says the provider is down:
                    // retrying now only spends the item's tries. (A 5xx is the provider's verdict and keeps them.)
                    throw new ProviderAwayException();
                }
                var waitMs = state.NextWaitMs;
                state.NextWaitMs = 0;
                await using var slot = await OwnSideAsync(() => _guard.EnterAsync(target, job, estimatedTokens, ctx.CancellationToken));
                await OwnSideAsync(async () => { await _journal.MarkAsync(item, target, possibleCost, ctx.CancellationToken); return 0; });
                var number = attempts.Count + 1;
                var started = _time.GetUtcNow();
                var stopwatch = Stopwatch.StartNew();
                CallResult result;
                try
                {
                    result = await _client.SendAsync(target, body, ctx.CancellationToken, job.Endpoint);
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException && !cancellationToken.IsCancellationRequested)
                {
                    attempts.Add(new AttemptRecord(number, target.ProviderId, target.ProviderName, target.Model, null, ErrorCodeOf(e), Describe(e, target),
                        (int)stopwatch.ElapsedMilliseconds, waitMs, fallback, started, null, null, null));
                    await ObserveAsync(target, estimatedTokens, null, (int)stopwatch.ElapsedMilliseconds);
                    throw;
                }
                await ObserveAsync(target, estimatedTokens, result, (int)stopwatch.ElapsedMilliseconds);
                attempts.Add(Charge(new AttemptRecord(number, target.ProviderId, target.ProviderName, target.Model, result.StatusCode,
                    result.ErrorCode, Truncate(result.ErrorMessage), (int)stopwatch.ElapsedMilliseconds, waitMs, fallback, started, null, null, null),
                    result, inputTokens, target));
                return result;
            }, context, state);
        }
        catch (Exception e) when (e is HttpRequestException or TimeoutRejectedException or IOException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new CallResult(null, null, ErrorCodeOf(e), Describe(e, target), true, null);
        }
        catch (ProviderAwayException)
        {
            return new CallResult(null, null, "circuit_open", $"{target.ProviderName} cannot be reached and its circuit is open", true, null);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// Prices a call the provider charged: from its reported usage, or, when it sent none but answered, from the
    /// tokenizer (input from the rendered request, output from the answer) marked estimated: never a silent zero.
    /// </summary>
    private AttemptRecord Charge(AttemptRecord attempt, CallResult result, int estimatedInputTokens, CallTarget target)
    {
        if (result.Usage is { } usage)
        {
            var cost = Pricing.Cost(usage.InputTokens, usage.CachedInputTokens ?? 0, usage.OutputTokens,
                target.InputPricePerMTok, target.CachedInputPricePerMTok, target.OutputPricePerMTok);
            _telemetry.Cost.Add((double)cost, new KeyValuePair<string, object?>("gen_ai.request.model", target.Model));
            return attempt with
            {
                InputTokens = usage.InputTokens, OutputTokens = usage.OutputTokens, CostUsd = cost, UsageSource = UsageSources.Reported,
                CachedInputTokens = usage.CachedInputTokens, ReasoningTokens = usage.ReasoningTokens,
            };
        }
        if (result.StatusCode is >= 200 and < 300 && (result.Succeeded || result.ErrorCode is "refusal" or "content_filter"))
        {
            var input = estimatedInputTokens;
            var output = TokenCounter.Count(result.Text);
            var cost = Pricing.Cost(input, output, target.InputPricePerMTok, target.OutputPricePerMTok);
            _telemetry.Cost.Add((double)cost, new KeyValuePair<string, object?>("gen_ai.request.model", target.Model));
            return attempt with { InputTokens = input, OutputTokens = output, CostUsd = cost, UsageSource = UsageSources.Estimated };
        }
        return attempt;
    }

    /// <summary>Bookkeeping after a call (limits, window, breaker) must never cost the answer.</summary>
    private async Task ObserveAsync(CallTarget target, int estimatedTokens, CallResult? result, int latencyMs)
    {
        try
        {
            await _guard.ObserveAsync(target, estimatedTokens, result, latencyMs);
        }
        catch (Exception e)
        {
            _logger.LogWarning(e, "Could not record the outcome of a call to {Provider}; the answer stands", target.ProviderName);
        }
    }

    private static async Task<T> OwnSideAsync<T>(Func<Task<T>> step)
    {
        try
        {
            return await step();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new OwnFaultException(e);
        }
    }

    private sealed class AttemptState
    {
        public int NextWaitMs;
    }

    private TimeSpan RetryDelay(TimeSpan? retryAfter, int attempt) =>
        RetryDelay(retryAfter, attempt, _options.BaseRetryDelayMilliseconds, TimeSpan.FromSeconds(_options.MaxRetryDelaySeconds), Random.Shared.NextDouble());

    /// <summary>
    /// The provider's wait when it names one (plus at most 10 % jitter), else exponential backoff from
    /// <paramref name="baseDelayMilliseconds"/> (doubling from Polly's attempt 0) with ±20 % jitter; never over
    /// <paramref name="cap"/>. <paramref name="jitter"/> is a draw in [0, 1).
    /// </summary>
    internal static TimeSpan RetryDelay(TimeSpan? retryAfter, int attempt, int baseDelayMilliseconds, TimeSpan cap, double jitter)
    {
        if (retryAfter >= cap)
        {
            return cap; // Before the jitter: a huge Retry-After times 1.1 would overflow a TimeSpan.
        }
        var delay = retryAfter is { } wait
            ? wait * (1 + jitter * 0.1)
            : TimeSpan.FromMilliseconds(baseDelayMilliseconds * Math.Pow(2, Math.Max(0, attempt)) * (0.8 + jitter * 0.4));
        return delay < cap ? delay : cap;
    }

    internal static string ErrorCodeOf(Exception? e) => e switch
    {
        TimeoutRejectedException or OperationCanceledException => "timeout",
        HttpRequestException or IOException => "connection_error",
        null => "unknown",
        _ => e.GetType().Name,
    };

    private static string Describe(Exception e, CallTarget target) => e switch
    {
        TimeoutRejectedException or OperationCanceledException => $"no answer from {target.ProviderName} within {target.Timeout.TotalSeconds:0} s",
        _ => $"{target.ProviderName}: {e.Message}",
    };

    private static string? Truncate(string? text) => text is { Length: > 1000 } ? text[..1000] : text;
}
