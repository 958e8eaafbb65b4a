using System.Collections.Concurrent;
using StackExchange.Redis;

namespace AspireBatch.Worker.Limits;

/// <summary>One limit to take from: a Redis key, its rate per minute, and how many units this call takes.</summary>
public readonly record struct LimitDemand(string Key, double PerMinute, double Units);

/// <summary>
/// Rate limits shared by every worker: GCRA (a token bucket without burst) kept in Redis and updated atomically
/// by one Lua script per call, over several limits at once (provider RPM, provider TPM, the job's own cap).
/// Calls are spaced evenly at the limit, so a provider that enforces the same limit over a sliding minute never
/// answers 429 because of us, and the rate reaches the limit. Hand-written because RedisRateLimiting's limiters
/// take one limit per call and cannot reconcile a token estimate with the real usage afterwards.
/// When Redis is unreachable each worker keeps going on a conservative local share of each limit.
/// </summary>
public sealed class SharedRateLimiter(IConnectionMultiplexer redis, RedisBreaker breaker, IConfiguration configuration, ILogger<SharedRateLimiter> logger)
{
    /// <summary>Spacing 1 % wider than the limit absorbs network jitter between our clock and the provider's.</summary>
    public const double SafetyMargin = 1.01;

    /// <summary>
    /// How far behind schedule a limit may be caught up. A caller woken late (busy machine) would otherwise lose its
    /// slot for good; 250 ms of catch-up stays inside the 1 % margin over a minute.
    /// </summary>
    public const double CatchUpMicros = 250_000;

    // KEYS: the limits; ARGV: per key its interval in microseconds per unit and its units, then the catch-up allowed.
    // Returns the wait in µs (0 = granted).
    private const string Script = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local catchup = tonumber(ARGV[#ARGV])
        local wait = 0
        local tats = {}
        for i, key in ipairs(KEYS) do
          local tat = tonumber(redis.call('GET', key) or now)
          if tat < now - catchup then tat = now - catchup end
          tats[i] = tat
          if tat - now > wait then wait = tat - now end
        end
        if wait > 0 then return wait end
        for i, key in ipairs(KEYS) do
          local interval = tonumber(ARGV[i * 2 - 1])
          local units = tonumber(ARGV[i * 2])
          local tat = tats[i] + interval * units
          redis.call('SET', key, string.format('%.0f', tat), 'PX', math.floor(math.max(tat - now, 0) / 1000) + 60000)
        end
        return 0
        """;

    // Gives back (or charges) units after the call, once the real token usage is known.
    private const string AdjustScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local tat = tonumber(redis.call('GET', KEYS[1]) or now) + tonumber(ARGV[1])
        if tat < now then tat = now end
        redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 60000)
        return 0
        """;

    // Moves a limit's schedule to at least ARGV[1] µs from now, so waiting calls wait until then; never earlier.
    private const string DelayScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
        local tat = tonumber(redis.call('GET', KEYS[1]) or now)
        local at = now + tonumber(ARGV[1])
        if at > tat then
          redis.call('SET', KEYS[1], string.format('%.0f', at), 'PX', math.floor((at - now) / 1000) + 60000)
        end
        return 0
        """;

    private readonly ConcurrentDictionary<string, LocalBucket> _local = new();
    private readonly int _workerShare = Math.Max(1, configuration.GetValue("Worker:ExpectedReplicas", 2));

    /// <summary>The connection the limits live on, for the limits learned from providers.</summary>
    internal IConnectionMultiplexer Redis => redis;

    /// <summary>The breaker every Redis user here consults before asking Redis.</summary>
    internal RedisBreaker Breaker => breaker;

    /// <summary>True while Redis is unreachable and limits are enforced locally.</summary>
    public bool Degraded => !breaker.Available;

    /// <summary>Waits until every limit grants the call; <paramref name="demands"/> is asked again at each look.</summary>
    public async Task AcquireAsync(Func<IReadOnlyList<LimitDemand>> demands, CancellationToken cancellationToken)
    {
        while (true)
        {
            var current = demands();
            if (current.Count == 0)
            {
                return;
            }
            var wait = await TryAcquireAsync(current);
            if (wait <= TimeSpan.Zero)
            {
                return;
            }
            await Task.Delay(wait, cancellationToken);
        }
    }

    /// <param name="commands">A batch to send the change with (its round trip), or null for a call of its own.</param>
    public async Task AdjustAsync(LimitDemand demand, double unitsDelta, IDatabaseAsync? commands = null)
    {
        if (unitsDelta == 0)
        {
            return;
        }
        var micros = unitsDelta * Interval(demand.PerMinute);
        if (!breaker.Available)
        {
            _local.GetOrAdd(demand.Key, _ => new LocalBucket()).Adjust(micros * _workerShare);
            return;
        }
        try
        {
            await (commands ?? redis.GetDatabase()).ScriptEvaluateAsync(AdjustScript, [demand.Key], [micros]);
        }
        catch (Exception e) when (RedisBreaker.IsRedisFault(e))
        {
            breaker.Failed(e);
            _local.GetOrAdd(demand.Key, _ => new LocalBucket()).Adjust(micros * _workerShare);
        }
    }

    /// <summary>Holds every call waiting on <paramref name="key"/> for at least <paramref name="atLeast"/> from now.</summary>
    /// <param name="commands">A batch to send it with; the command is queued before this method first awaits.</param>
    public async Task DelayAsync(IDatabaseAsync commands, string key, TimeSpan atLeast)
    {
        if (atLeast <= TimeSpan.Zero)
        {
            return;
        }
        if (!breaker.Available)
        {
            _local.GetOrAdd(key, _ => new LocalBucket()).DelayTo(atLeast.TotalMicroseconds);
            return;
        }
        try
        {
            await commands.ScriptEvaluateAsync(DelayScript, [key], [atLeast.TotalMicroseconds]);
        }
        catch (Exception e) when (RedisBreaker.IsRedisFault(e))
        {
            breaker.Failed(e);
            _local.GetOrAdd(key, _ => new LocalBucket()).DelayTo(atLeast.TotalMicroseconds);
        }
    }

    /// <summary>Microseconds between two units of a limit of <paramref name="perMinute"/>, margin included.</summary>
    public static double IntervalMicros(double perMinute) => Interval(perMinute);

    private async Task<TimeSpan> TryAcquireAsync(IReadOnlyList<LimitDemand> demands)
    {
        // While Redis is away no call waits for it: each worker keeps to its share of every limit.
        if (!breaker.Available)
        {
            return LocalAcquire(demands);
        }
        try
        {
            var keys = demands.Select(d => (RedisKey)d.Key).ToArray();
            var args = demands.SelectMany(d => new RedisValue[] { Interval(d.PerMinute), d.Units }).Append(CatchUpMicros).ToArray();
            var wait = (long)await redis.GetDatabase().ScriptEvaluateAsync(Script, keys, args);
            return TimeSpan.FromMicroseconds(wait);
        }
        catch (Exception e) when (RedisBreaker.IsRedisFault(e))
        {
            breaker.Failed(e);
            logger.LogWarning("Enforcing 1/{Share} of each rate limit locally until Redis is back", _workerShare);
            return LocalAcquire(demands);
        }
    }

    private TimeSpan LocalAcquire(IReadOnlyList<LimitDemand> demands)
    {
        lock (_local)
        {
            var buckets = demands.Select(d => _local.GetOrAdd(d.Key, _ => new LocalBucket())).ToList();
            var wait = buckets.Max(b => b.Wait());
            if (wait > TimeSpan.Zero)
            {
                return wait;
            }
            for (var i = 0; i < demands.Count; i++)
            {
                buckets[i].Take(Interval(demands[i].PerMinute) * demands[i].Units * _workerShare);
            }
            return TimeSpan.Zero;
        }
    }

    private static double Interval(double perMinute) => 60_000_000d / perMinute * SafetyMargin;

    /// <summary>The same GCRA in memory, for when Redis is away.</summary>
    private sealed class LocalBucket
    {
        private double _tat = Now();

        public TimeSpan Wait() => TimeSpan.FromMicroseconds(Math.Max(0, _tat - Now()));

        public void Take(double micros) => _tat = Math.Max(_tat, Now()) + micros;

        public void Adjust(double micros) => _tat = Math.Max(Now(), _tat + micros);

        public void DelayTo(double microsFromNow) => _tat = Math.Max(_tat, Now() + microsFromNow);

        private static double Now() => System.Diagnostics.Stopwatch.GetTimestamp() * 1_000_000d / System.Diagnostics.Stopwatch.Frequency;
    }
}
