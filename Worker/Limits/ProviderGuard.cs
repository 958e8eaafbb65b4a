using AspireBatch.Data.Live;
using AspireBatch.Worker.Execution;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspireBatch.Worker.Limits;

/// <summary>
/// Everything around one call that all workers share: the provider's and the job's rate limits, the provider's
/// concurrency and circuit breaker, and the target's sliding window that the route monitor judges.
/// </summary>
public sealed class ProviderGuard(
    SharedRateLimiter limiter,
    ConcurrencyGate concurrency,
    ProviderState providers,
    TargetWindow window,
    LiveLimits limits,
    IOptions<WorkerOptions> options,
    ILogger<ProviderGuard> logger)
{
    /// <summary>Output tokens assumed before the call when a job sets no max_tokens; corrected with the real usage after.</summary>
    private const int AssumedOutputTokens = 256;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, (bool Open, long CheckedAt)> _circuits = new();

    /// <summary>Whether the provider's circuit is open, asked of Redis at most every 500 ms per provider.</summary>
    public async Task<bool> IsCircuitOpenAsync(CallTarget target)
    {
        var now = Environment.TickCount64;
        if (_circuits.TryGetValue(target.ProviderId, out var known) && now - known.CheckedAt < 500)
        {
            return known.Open;
        }
        bool open;
        try
        {
            open = await providers.IsOpenAsync(target.ProviderId);
        }
        catch (RedisException)
        {
            open = false;
        }
        _circuits[target.ProviderId] = (open, now);
        return open;
    }

    public int EstimateTokens(ClaimedItem item, RunningJob job) => item.EstimatedInputTokens + (job.MaxTokens ?? AssumedOutputTokens);

    /// <summary>Waits for the limits (provider, model, job), then takes a concurrency slot (released when the call is over, not during backoff).</summary>
    public async Task<IAsyncDisposable?> EnterAsync(CallTarget target, RunningJob job, int estimatedTokens, CancellationToken cancellationToken)
    {
        // The limits are read again at every look: a change made while this call waits applies to it.
        await limiter.AcquireAsync(() => Demands(target, job, estimatedTokens), cancellationToken);
        return limits.Current(target).MaxConcurrency is { } limit
            ? await concurrency.EnterAsync(target.ProviderId, limit, target.Timeout + TimeSpan.FromSeconds(30), cancellationToken)
            : null;
    }

    private List<LimitDemand> Demands(CallTarget target, RunningJob job, int estimatedTokens)
    {
        var current = limits.Current(target);
        var demands = new List<LimitDemand>(5);
        if (current.RequestsPerMinute is { } rpm)
        {
            demands.Add(new(ProviderKey("rpm", target), rpm, 1));
        }
        if (current.TokensPerMinute is { } tpm)
        {
            demands.Add(new(ProviderKey("tpm", target), tpm, estimatedTokens));
        }
        if (current.ModelRequestsPerMinute is { } modelRpm)
        {
            demands.Add(new(ModelKey("rpm", target), modelRpm, 1));
        }
        if (current.ModelTokensPerMinute is { } modelTpm)
        {
            demands.Add(new(ModelKey("tpm", target), modelTpm, estimatedTokens));
        }
        if (limits.Current(job).RequestsPerMinuteCap is { } cap)
        {
            demands.Add(new($"aspirebatch:job-rpm:{job.Id:N}", cap, 1));
        }
        return demands;
    }

    private static string ProviderKey(string kind, CallTarget target) => $"aspirebatch:{kind}:{target.ProviderId:N}";

    private static string ModelKey(string kind, CallTarget target) => $"aspirebatch:{kind}:{target.ProviderId:N}:{target.Model}";

    /// <summary>After a call: reconcile the token estimate, feed the window and the circuit breaker.</summary>
    public async Task ObserveAsync(CallTarget target, int estimatedTokens, CallResult? result, int latencyMs)
    {
        try
        {
            var current = limits.Current(target);
            var used = result is { Succeeded: true } ? (result.InputTokens ?? 0) + (result.OutputTokens ?? 0) : 0;
            if (current.TokensPerMinute is { } tpm)
            {
                await limiter.AdjustAsync(new(ProviderKey("tpm", target), tpm, 0), used - estimatedTokens);
            }
            if (current.ModelTokensPerMinute is { } modelTpm)
            {
                await limiter.AdjustAsync(new(ModelKey("tpm", target), modelTpm, 0), used - estimatedTokens);
            }
            var success = result is { Succeeded: true };
            // One round trip: the window and, on success, the end of any run of failures.
            await window.RecordAsync(target.ProviderId, target.Model, success, latencyMs,
                success ? batch => ProviderState.RecordSuccessAsync(batch, target.ProviderId) : null);
            if (!success && (result is null || (result.Retryable && result.StatusCode != 429)))
            {
                // 5xx, timeouts and broken connections say the provider is unwell; a 429 only says "slower".
                if (await providers.RecordFailureAsync(target.ProviderId, options.Value.CircuitFailureThreshold, TimeSpan.FromSeconds(options.Value.CircuitBreakSeconds)))
                {
                    logger.LogWarning("Circuit of {Provider} is open for {Seconds} s after {Failures} failures in a row",
                        target.ProviderName, options.Value.CircuitBreakSeconds, options.Value.CircuitFailureThreshold);
                }
            }
        }
        catch (RedisException e)
        {
            logger.LogDebug(e, "Could not record the outcome of a call to {Provider}", target.ProviderName);
        }
    }
}
