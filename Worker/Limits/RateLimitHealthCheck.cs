using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace AspireBatch.Worker.Limits;

/// <summary>Says in /health when limits are enforced locally because Redis is unreachable.</summary>
public sealed class RateLimitHealthCheck(SharedRateLimiter limiter) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(limiter.Degraded
            ? HealthCheckResult.Degraded("Redis is unreachable: each worker enforces its local share of every rate limit")
            : HealthCheckResult.Healthy("rate limits are shared through Redis"));
}
