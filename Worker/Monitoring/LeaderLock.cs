using System.Collections.Concurrent;
using StackExchange.Redis;

namespace AspireBatch.Worker.Monitoring;

/// <summary>
/// One worker at a time runs the monitors: a Redis lock with an expiry, renewed by its holder. Taking and extending
/// happen in one script, so the lock cannot expire and change hands between a check and an extension.
/// </summary>
public sealed class LeaderLock(IConnectionMultiplexer redis, ILogger<LeaderLock> logger)
{
    // Free: take it. Ours: extend it. Someone else's: leave it.
    private const string HoldScript = """
        if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
            return 1
        end
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            redis.call('PEXPIRE', KEYS[1], ARGV[2])
            return 1
        end
        return 0
        """;

    // Delete only if still ours: an expired lock another worker took since is theirs.
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
            return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    private static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(1);
    private readonly string _me = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
    private readonly ConcurrentDictionary<string, byte> _held = new();

    private static RedisKey Key(string name) => $"aspirebatch:leader:{name}";

    public async Task<bool> HoldAsync(string name, TimeSpan ttl, CancellationToken cancellationToken)
    {
        try
        {
            var held = (long)await redis.GetDatabase()
                .ScriptEvaluateAsync(HoldScript, [Key(name)], [_me, (long)ttl.TotalMilliseconds])
                .WaitAsync(cancellationToken) == 1;
            if (held)
            {
                _held[name] = 0;
            }
            else
            {
                _held.TryRemove(name, out _);
            }
            return held;
        }
        catch (RedisException)
        {
            // Redis away: nobody can tell who leads, so this worker does not.
            return false;
        }
    }

    /// <summary>On shutdown: hands the lock over at once instead of after its expiry. Never throws, waits at most a second.</summary>
    public async Task ReleaseAsync(string name)
    {
        if (!_held.TryRemove(name, out _))
        {
            return;
        }
        try
        {
            await redis.GetDatabase().ScriptEvaluateAsync(ReleaseScript, [Key(name)], [_me]).WaitAsync(ReleaseTimeout);
        }
        catch (Exception e)
        {
            logger.LogDebug(e, "Could not release the {Name} lock; it expires on its own", name);
        }
    }
}
