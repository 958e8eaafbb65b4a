using StackExchange.Redis;

namespace AspireBatch.Worker.Limits;

/// <summary>
/// A provider's concurrent-request limit shared by all workers: holders sit in a Redis sorted set scored by their
/// expiry, so a dead worker's slots free themselves. Without Redis each worker keeps to its local share.
/// </summary>
public sealed class ConcurrencyGate(IConnectionMultiplexer redis, RedisBreaker breaker, IConfiguration configuration)
{
    private const string AcquireScript = """
        local t = redis.call('TIME')
        local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
        if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
          redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[2])
          redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
          return 1
        end
        return 0
        """;

    private readonly int _workerShare = Math.Max(1, configuration.GetValue("Worker:ExpectedReplicas", 2));
    private readonly Dictionary<string, int> _local = [];
    private readonly IConnectionMultiplexer _redis = redis;

    public async Task<IAsyncDisposable> EnterAsync(Guid providerId, int limit, TimeSpan holdAtMost, CancellationToken cancellationToken)
    {
        var key = $"aspirebatch:concurrency:{providerId:N}";
        var member = Guid.NewGuid().ToString("N");
        while (true)
        {
            var granted = false;
            var local = !breaker.Available;
            if (!local)
            {
                try
                {
                    granted = (long)await _redis.GetDatabase().ScriptEvaluateAsync(AcquireScript, [key], [limit, member, (long)holdAtMost.TotalMilliseconds]) == 1;
                }
                catch (Exception e) when (RedisBreaker.IsRedisFault(e))
                {
                    breaker.Failed(e);
                    local = true;
                }
            }
            if (local)
            {
                // Redis is away: this worker keeps to its share of the provider's concurrency.
                lock (_local)
                {
                    var held = _local.GetValueOrDefault(key);
                    granted = held < Math.Max(1, limit / _workerShare);
                    if (granted)
                    {
                        _local[key] = held + 1;
                    }
                }
            }
            if (granted)
            {
                return new Slot(this, key, member, local);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken);
        }
    }

    private sealed class Slot(ConcurrencyGate gate, string key, string member, bool local) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            if (local)
            {
                lock (gate._local)
                {
                    gate._local[key] = Math.Max(0, gate._local.GetValueOrDefault(key) - 1);
                }
                return;
            }
            try
            {
                await gate._redis.GetDatabase().SortedSetRemoveAsync(key, member);
            }
            catch (RedisException)
            {
                // The slot expires by itself.
            }
        }
    }
}
