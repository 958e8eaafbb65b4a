using System.Diagnostics;
using System.Net.Http.Headers;
using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Live;
using AspireBatch.Data.Services;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AspireBatch.Worker.Monitoring;

/// <summary>Calls each enabled provider's /models at an interval and keeps the result where the Api shows it.</summary>
public sealed class ProviderHealthMonitor(
    IServiceScopeFactory scopes,
    LeaderLock leader,
    ProviderState state,
    ProviderKeyProtector keys,
    IHttpClientFactory httpClients,
    IOptions<WorkerOptions> options,
    TimeProvider time,
    ILogger<ProviderHealthMonitor> logger) : BackgroundService
{
    public const string HttpClientName = "provider-health";
    private const string LockName = "provider-health";

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
        foreach (var provider in providers)
        {
            var stopwatch = Stopwatch.StartNew();
            ProviderHealthCheck check;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, provider.BaseUrl.TrimEnd('/') + "/models");
                if (provider.EncryptedApiKey is { } encrypted)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", keys.Unprotect(encrypted));
                }
                using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                cts.CancelAfter(TimeSpan.FromSeconds(provider.ConnectTimeoutSeconds));
                using var response = await httpClients.CreateClient(HttpClientName).SendAsync(request, cts.Token);
                check = new ProviderHealthCheck(response.IsSuccessStatusCode, (int)response.StatusCode, stopwatch.ElapsedMilliseconds,
                    response.IsSuccessStatusCode ? "ok" : $"answered {(int)response.StatusCode}", time.GetUtcNow());
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                check = new ProviderHealthCheck(false, null, stopwatch.ElapsedMilliseconds, $"cannot connect: {e.Message}", time.GetUtcNow());
            }
            await state.SaveHealthAsync(provider.Id, check);
        }
    }
}
