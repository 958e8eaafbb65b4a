using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Live;
using AspireBatch.Data.Services;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AspireBatch.Worker.Monitoring;

/// <summary>
/// Probes each enabled provider's /models at an interval and keeps the result where the Api shows it and the route
/// monitor reads it. Providers are probed side by side: one that never answers must not delay the others' checks
/// (an automatic roll-forward waits for a fresh one).
/// </summary>
public sealed class ProviderHealthMonitor(
    IServiceScopeFactory scopes,
    LeaderLock leader,
    ProviderState state,
    ProviderKeyProtector keys,
    ModelListProbe probe,
    IOptions<WorkerOptions> options,
    TimeProvider time,
    ILogger<ProviderHealthMonitor> logger) : BackgroundService
{
    private const string LockName = "provider-health";
    private const int ProbesAtOnce = 16;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.HealthCheckSeconds);
        using var timer = new PeriodicTimer(interval);
        try
        {
            do
            {
                try
                {
                    if (await leader.HoldAsync(LockName, interval * 2, stoppingToken))
                    {
                        await CheckAllAsync(stoppingToken);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogError(e, "Provider health checks failed");
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        finally
        {
            // Another worker takes over at its next tick, not after the lock expires.
            await leader.ReleaseAsync(LockName);
        }
    }

    private async Task CheckAllAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var providers = await scope.ServiceProvider.GetRequiredService<BatchDbContext>().Providers.AsNoTracking()
            .Where(p => p.Enabled).ToListAsync(cancellationToken);
        await Parallel.ForEachAsync(providers, new ParallelOptions { MaxDegreeOfParallelism = ProbesAtOnce, CancellationToken = cancellationToken },
            async (provider, token) =>
            {
                var key = provider.EncryptedApiKey is { } encrypted ? keys.Unprotect(encrypted) : null;
                var result = await probe.TestAsync(provider.BaseUrl, key, TimeSpan.FromSeconds(provider.ConnectTimeoutSeconds), token);
                await state.SaveHealthAsync(provider.Id, new ProviderHealthCheck(result.Success, result.StatusCode, result.LatencyMs,
                    result.Success ? "ok" : result.Message, time.GetUtcNow()));
            });
    }
}
