using StackExchange.Redis;

namespace AspireBatch.Worker.Monitoring;

/// <summary>One worker at a time runs the monitors: a Redis lock with an expiry, renewed by its holder.</summary>
public sealed class LeaderLock(IConnectionMultiplexer redis)
{
    private readonly string _me = $"{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    public async Task<bool> HoldAsync(string name, TimeSpan ttl)
    {
        try
        {
            var key = $"aspirebatch:leader:{name}";
            var database = redis.GetDatabase();
            if (await database.StringSetAsync(key, _me, ttl, When.NotExists))
            {
                return true;
            }
            // Renew if we hold it already.
            return (string?)await database.StringGetAsync(key) == _me && await database.KeyExpireAsync(key, ttl);
        }
        catch (RedisException)
        {
            return false;
        }
    }
}
