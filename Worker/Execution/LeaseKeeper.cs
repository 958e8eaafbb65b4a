using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using AspireBatch.Data.Lifecycle;

namespace AspireBatch.Worker.Execution;

/// <summary>
/// Renews the leases this worker holds while their calls run or their results wait to be written, and returns the
/// items of dead workers to the queue once their leases expire.
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
        // Leases that ran out while the database was away say nothing about their workers: a live one renews at its
        // next tick, and a renewal revives a lease nobody swept. So when this worker could not renew for over half a
        // lease (the database was away, or answered only after its connections waited), it sweeps only once a whole
        // lease has passed since; sweeping at once ran live workers' items twice.
        var renewedAt = Environment.TickCount64;
        var sweepFrom = renewedAt;
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await store.RenewAsync(_held.Keys.ToArray(), lease, stoppingToken);
                var now = Environment.TickCount64;
                if (now - renewedAt > lease * 500L)
                {
                    sweepFrom = now + lease * 1000L;
                    logger.LogWarning("Leases were not renewed for {Seconds:0.0} s; expired ones are swept in {Lease} s, once live workers have renewed theirs",
                        (now - renewedAt) / 1000.0, lease);
                }
                renewedAt = now;
                if (now < sweepFrom)
                {
                    continue;
                }
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
