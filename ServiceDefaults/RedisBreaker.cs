using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// A breaker around Redis, which is a helper here and never a dependency of correctness. After a failure every user
/// skips Redis at once (limits fall back to local shares, live events are dropped) instead of waiting out a timeout
/// per call. A background probe pings it every half second, so a service that seldom uses Redis notices too, and
/// closes the breaker when it answers. Its state is the "redis" health check: Degraded while Redis is away, answered
/// from memory so /health stays fast.
/// </summary>
public sealed class RedisBreaker(IConnectionMultiplexer redis, ILogger<RedisBreaker> logger) : BackgroundService, IHealthCheck
{
    private static readonly TimeSpan ProbeEvery = TimeSpan.FromMilliseconds(500);
    private volatile bool _open;
    private DateTimeOffset _openedAt;

    /// <summary>False while Redis is away: callers go to their local fallback without asking it.</summary>
    public bool Available => !_open;

    /// <summary>What a Redis call may throw when the server is away or the connection is being torn down.</summary>
    public static bool IsRedisFault(Exception e) => e is RedisException or TimeoutException or ObjectDisposedException or InvalidOperationException;

    public void Failed(Exception e)
    {
        if (_open)
        {
            return;
        }
        _openedAt = DateTimeOffset.UtcNow;
        _open = true;
        logger.LogError(e, "Redis is unreachable: going on without it (local shares of the limits, no live events) until it answers");
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(ProbeEvery);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await redis.GetDatabase().PingAsync().WaitAsync(ProbeEvery, stoppingToken);
                if (_open)
                {
                    _open = false;
                    logger.LogWarning("Redis answers again after {Seconds:0.0} s: limits and live events are shared again", (DateTimeOffset.UtcNow - _openedAt).TotalSeconds);
                }
            }
            catch (Exception e) when (IsRedisFault(e))
            {
                Failed(e);
            }
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_open
            ? HealthCheckResult.Degraded($"Redis has been unreachable since {_openedAt:O}; working without it")
            : HealthCheckResult.Healthy("Redis answers"));
}

public static class RedisBreakerExtensions
{
    /// <summary>
    /// The Redis client every service uses: commands fail at once while disconnected (no backlog to wait in) and time
    /// out after a second, behind a <see cref="RedisBreaker"/> whose state is the health check.
    /// </summary>
    public static IHostApplicationBuilder AddResilientRedisClient(this IHostApplicationBuilder builder, string connectionName)
    {
        builder.AddRedisClient(connectionName, settings => settings.DisableHealthChecks = true, options =>
        {
            options.AbortOnConnectFail = false;
            options.BacklogPolicy = BacklogPolicy.FailFast;
            options.ConnectTimeout = 1000;
            options.AsyncTimeout = 1000;
            options.SyncTimeout = 1000;
        });
        builder.Services.AddSingleton<RedisBreaker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RedisBreaker>());
        builder.Services.AddHealthChecks().AddCheck<RedisBreaker>("redis");
        return builder;
    }
}
