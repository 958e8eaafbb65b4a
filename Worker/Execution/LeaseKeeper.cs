using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using AspireBatch.Data.Lifecycle;

namespace AspireBatch.Worker.Execution;

/// <summary>
/// Renews the leases this worker holds while their calls run, and returns the items of dead workers to the queue
/// once their leases expire.
/// </summary>
public sealed class LeaseKeeper(ItemStore store, ItemLifecycle items, IOptions<WorkerOptions> options, ILogger<LeaseKeeper> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<Guid, int> _held = new();

    public void Hold(Guid token) => _held.AddOrUpdate(token, 1, (_, n) => n + 1);

    public void Release(Guid token)
    {
        if (_held.AddOrUpdate(token, 0, (_, n) => n - 1) <= 0)
        {
            _held.TryRemove(token, out _);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(KeepLeasesAsync(stoppingToken), CancelPendingAsync(stoppingToken));

    /// <summary>Cancelled jobs' pending items become cancelled in batches, within a second or two of the cancel.</summary>
    private async Task CancelPendingAsync(CancellationToken stoppingToken)
    {
        const int batch = 5000;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                while (await items.CancelPendingAsync(batch, stoppingToken) == batch)
                {
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Cancelling the pending items of cancelled jobs failed");
            }
        }
    }

    private async Task KeepLeasesAsync(CancellationToken stoppingToken)
    {
        var lease = options.Value.LeaseSeconds;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(Math.Max(1, lease / 4.0)));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await store.RenewAsync(_held.Keys.ToArray(), lease, stoppingToken);
                var (returned, inDoubt) = await items.SweepExpiredAsync(stoppingToken);
                if (returned > 0)
                {
                    logger.LogWarning("{Count} item(s) of a stopped worker went back to the queue after their lease expired; {InDoubt} call(s) it had in flight are recorded as in doubt",
                        returned, inDoubt);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "Renewing leases failed");
            }
        }
    }
}
