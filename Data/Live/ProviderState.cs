using System.Text.Json;
using AspireBatch.Contracts;
using StackExchange.Redis;

namespace AspireBatch.Data.Live;

/// <summary>
/// Per-provider state every worker shares through Redis: the circuit breaker (consecutive failures, open until) and
/// the last background health check.
/// </summary>
public sealed class ProviderState(IConnectionMultiplexer redis, TimeProvider time)
{
    private static string Circuit(Guid providerId) => $"aspirebatch:circuit:{providerId:N}";
    private static string Health(Guid providerId) => $"aspirebatch:health:{providerId:N}";

    public async Task<bool> IsOpenAsync(Guid providerId) =>
        (long?)await redis.GetDatabase().HashGetAsync(Circuit(providerId), "open_until") is { } until && until > time.GetUtcNow().ToUnixTimeMilliseconds();

    /// <summary>A failure that retrying might fix (5xx, timeout, connection); opens the circuit after <paramref name="threshold"/> in a row.</summary>
    public async Task<bool> RecordFailureAsync(Guid providerId, int threshold, TimeSpan breakFor)
    {
        var database = redis.GetDatabase();
        var failures = await database.HashIncrementAsync(Circuit(providerId), "failures");
        if (failures < threshold)
        {
            return false;
        }
        await database.HashSetAsync(Circuit(providerId), "open_until", time.GetUtcNow().Add(breakFor).ToUnixTimeMilliseconds());
        return true;
    }

    /// <summary>A success closes the run of failures; <paramref name="commands"/> may be a batch.</summary>
    public static Task RecordSuccessAsync(IDatabaseAsync commands, Guid providerId) => commands.HashSetAsync(Circuit(providerId), "failures", 0);

    public Task SaveHealthAsync(Guid providerId, ProviderHealthCheck check) =>
        redis.GetDatabase().StringSetAsync(Health(providerId), JsonSerializer.Serialize(check), TimeSpan.FromHours(1));

    public async Task<ProviderHealthDto> ReadAsync(Guid providerId, string name)
    {
        var database = redis.GetDatabase();
        var circuit = await database.HashGetAllAsync(Circuit(providerId));
        var failures = (long?)circuit.FirstOrDefault(e => e.Name == "failures").Value ?? 0;
        var openUntil = (long?)circuit.FirstOrDefault(e => e.Name == "open_until").Value;
        var open = openUntil is { } until && until > time.GetUtcNow().ToUnixTimeMilliseconds();
        var health = await database.StringGetAsync(Health(providerId));
        var check = health.HasValue ? JsonSerializer.Deserialize<ProviderHealthCheck>(health.ToString()) : null;
        return new ProviderHealthDto(providerId, name, open ? "open" : "closed", failures,
            open ? DateTimeOffset.FromUnixTimeMilliseconds(openUntil!.Value) : null, check);
    }
}
