using AspireBatch.Contracts;
using AspireBatch.Data.Live;
using AspireBatch.Worker.Execution;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using AspireBatch.Data.Lifecycle;

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
    /// <summary>A provider's "remaining 0, reset in ..." holds waiting calls at most this long.</summary>
    private static readonly TimeSpan LongestResetWait = TimeSpan.FromSeconds(60);

    private readonly LearnedLimits _learned = new(limiter.Redis, window, TimeProvider.System, logger);

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
        if (!limiter.Breaker.Available)
        {
            // The circuit lives in Redis: while it is away the last answer stands.
            return known.Open;
        }
        try
        {
            open = await providers.IsOpenAsync(target.ProviderId);
        }
        catch (Exception e) when (RedisBreaker.IsRedisFault(e))
        {
            limiter.Breaker.Failed(e);
            open = false;
        }
        _circuits[target.ProviderId] = (open, now);
        return open;
    }

    public int EstimateTokens(ClaimedItem item, RunningJob job) =>
        item.EstimatedInputTokens + (job.Endpoint == JobEndpoint.Embeddings ? 0 : job.MaxTokens ?? AssumedOutputTokens);

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
        // A configured limit always wins; without one the provider's stated (or 429-taught) limit paces the calls.
        if (_learned.Current(target) is { } learned)
        {
            if (!RpmConfigured(current) && learned.RequestsPerMinute is { } learnedRpm)
            {
                demands.Add(new(LearnedLimits.PaceKey("rpm", target), learnedRpm, 1));
            }
            if (!TpmConfigured(current) && learned.TokensPerMinute is { } learnedTpm)
            {
                demands.Add(new(LearnedLimits.PaceKey("tpm", target), learnedTpm, estimatedTokens));
            }
        }
        if (limits.Current(job).RequestsPerMinuteCap is { } cap)
        {
            demands.Add(new($"aspirebatch:job-rpm:{job.Id:N}", cap, 1));
        }
        return demands;
    }

    private static bool RpmConfigured(CallTarget current) => current.RequestsPerMinute is not null || current.ModelRequestsPerMinute is not null;

    private static bool TpmConfigured(CallTarget current) => current.TokensPerMinute is not null || current.ModelTokensPerMinute is not null;

    /// <summary>The limiter key that paces the target's requests (or tokens) now: the provider's, the model's, or the learned one.</summary>
    private LimitDemand? Pacing(string kind, CallTarget current, CallTarget target) => kind == "rpm"
        ? current.RequestsPerMinute is { } rpm ? new(ProviderKey("rpm", target), rpm, 1)
            : current.ModelRequestsPerMinute is { } modelRpm ? new(ModelKey("rpm", target), modelRpm, 1)
            : _learned.Current(target)?.RequestsPerMinute is { } learnedRpm ? new(LearnedLimits.PaceKey("rpm", target), learnedRpm, 1) : null
        : current.TokensPerMinute is { } tpm ? new(ProviderKey("tpm", target), tpm, 1)
            : current.ModelTokensPerMinute is { } modelTpm ? new(ModelKey("tpm", target), modelTpm, 1)
            : _learned.Current(target)?.TokensPerMinute is { } learnedTpm ? new(LearnedLimits.PaceKey("tpm", target), learnedTpm, 1) : null;

    private static string ProviderKey(string kind, CallTarget target) => $"aspirebatch:{kind}:{target.ProviderId:N}";

    private static string ModelKey(string kind, CallTarget target) => $"aspirebatch:{kind}:{target.ProviderId:N}:{target.Model}";

    /// <summary>
    /// After a call: reconcile the token estimate, feed the window and the circuit breaker, learn from the provider's
    /// rate-limit headers and 429s. The learned limit's commands ride on the window's round trip.
    /// </summary>
    public async Task ObserveAsync(CallTarget target, int estimatedTokens, CallResult? result, int latencyMs)
    {
        if (!limiter.Breaker.Available)
        {
            // Windows, circuits and learned limits live in Redis: while it is away calls go on without feeding them.
            return;
        }
        try
        {
            var current = limits.Current(target);
            var used = result is { Succeeded: true } ? (result.InputTokens ?? 0) + (result.OutputTokens ?? 0) : 0;
            var learnedTpm = TpmConfigured(current) ? null : _learned.Current(target)?.TokensPerMinute;
            var plan = _learned.Observe(target, RpmConfigured(current), TpmConfigured(current), result);
            var headers = result?.RateHeaders;
            if (current.TokensPerMinute is { } tpm)
            {
                await limiter.AdjustAsync(new(ProviderKey("tpm", target), tpm, 0), used - estimatedTokens);
            }
            if (current.ModelTokensPerMinute is { } modelTpm)
            {
                await limiter.AdjustAsync(new(ModelKey("tpm", target), modelTpm, 0), used - estimatedTokens);
            }
            var success = result is { Succeeded: true };
            // One round trip: the window, on success the end of any run of failures, and the learned limit's commands.
            try
            {
                await RecordAsync();
            }
            finally
            {
                if (plan.LearnFrom429)
                {
                    await _learned.LearnFrom429Async(target);
                }
            }
            if (!success && (result is null || (result.Retryable && result.StatusCode != 429)))
            {
                // 5xx, timeouts and broken connections say the provider is unwell; a 429 only says "slower".
                if (await providers.RecordFailureAsync(target.ProviderId, options.Value.CircuitFailureThreshold, TimeSpan.FromSeconds(options.Value.CircuitBreakSeconds)))
                {
                    logger.LogWarning("Circuit of {Provider} is open for {Seconds} s after {Failures} failures in a row",
                        target.ProviderName, options.Value.CircuitBreakSeconds, options.Value.CircuitFailureThreshold);
                }
            }

            Task RecordAsync() => window.RecordAsync(target.ProviderId, target.Model, success, latencyMs, batch =>
            {
                var tasks = new List<Task>(6) { _learned.SyncAsync(batch, target, plan) };
                if (success)
                {
                    tasks.Add(ProviderState.RecordSuccessAsync(batch, target.ProviderId));
                }
                if (learnedTpm is { } tokens)
                {
                    tasks.Add(limiter.AdjustAsync(new(LearnedLimits.PaceKey("tpm", target), tokens, 0), used - estimatedTokens, batch));
                }
                // The unpaced calls before the limit was learned, still in the provider's window.
                if (plan.SeedRequests is { } seedRequests)
                {
                    tasks.Add(limiter.DelayAsync(batch, LearnedLimits.PaceKey("rpm", target), seedRequests));
                }
                if (plan.SeedTokens is { } seedTokens)
                {
                    tasks.Add(limiter.DelayAsync(batch, LearnedLimits.PaceKey("tpm", target), seedTokens));
                }
                // Nothing left until the reset: the calls waiting for a slot wait for it.
                if (headers is { RequestsRemaining: 0, RequestsReset: { } requestsReset } && Pacing("rpm", current, target) is { } rpmPacing)
                {
                    tasks.Add(limiter.DelayAsync(batch, rpmPacing.Key, requestsReset < LongestResetWait ? requestsReset : LongestResetWait));
                }
                if (headers is { TokensRemaining: 0, TokensReset: { } tokensReset } && Pacing("tpm", current, target) is { } tpmPacing)
                {
                    tasks.Add(limiter.DelayAsync(batch, tpmPacing.Key, tokensReset < LongestResetWait ? tokensReset : LongestResetWait));
                }
                return Task.WhenAll(tasks);
            });
        }
        catch (Exception e) when (RedisBreaker.IsRedisFault(e))
        {
            limiter.Breaker.Failed(e);
            logger.LogDebug(e, "Could not record the outcome of a call to {Provider}", target.ProviderName);
        }
    }
}
