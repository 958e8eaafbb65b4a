namespace AspireBatch.Simulator.Services;

/// <summary>Moves the native batches along every <see cref="Tick"/>; a batch whose processing throws fails alone.</summary>
public sealed class BatchProcessor(BatchStore store, TimeProvider time, ILogger<BatchProcessor> logger) : BackgroundService
{
    /// <summary>Short enough that a few-second turnaround shows its progress, cheap when there is no batch.</summary>
    public static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(25);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Tick, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                foreach (var batch in store.Active())
                {
                    try
                    {
                        store.Advance(batch);
                    }
                    catch (Exception ex)
                    {
                        logger.LogError(ex, "Batch {BatchId} failed in the simulator", batch.Id);
                        store.Fail(batch, ex);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping.
        }
    }
}
