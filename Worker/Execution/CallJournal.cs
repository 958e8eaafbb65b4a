using System.Threading.Channels;

namespace AspireBatch.Worker.Execution;

/// <summary>
/// Writes down that a call is about to go out, before it goes: the item's calls in flight and what they may cost.
/// If this worker dies mid-call, the lease sweeper turns those calls into attempts with outcome unknown and their
/// possible cost, so a call the provider served (and charged) never vanishes from the ledger. Marks from all calls
/// are written together, one statement per batch, so the cost is about one short wait per call, not a round trip.
/// </summary>
public sealed class CallJournal(ItemStore store, ILogger<CallJournal> logger) : BackgroundService
{
    public sealed record CallMark(ClaimedItem Item, CallTarget Target, decimal PossibleCostUsd)
    {
        internal TaskCompletionSource Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Channel<CallMark> _marks = Channel.CreateUnbounded<CallMark>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Returns once the mark is durable; the call may then be sent.</summary>
    public async Task MarkAsync(ClaimedItem item, CallTarget target, decimal possibleCostUsd, CancellationToken cancellationToken)
    {
        var mark = new CallMark(item, target, possibleCostUsd);
        await _marks.Writer.WriteAsync(mark, cancellationToken);
        await mark.Written.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<CallMark>(256);
        while (await _marks.Reader.WaitToReadAsync(CancellationToken.None))
        {
            while (batch.Count < 1000 && _marks.Reader.TryRead(out var mark))
            {
                batch.Add(mark);
            }
            // Until it is written no call goes out: while Postgres is away calls wait here, they do not fail.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await store.MarkCallsAsync(batch, CancellationToken.None);
                    break;
                }
                catch (Exception e)
                {
                    logger.LogWarning(e, "Recording {Count} calls about to start failed (attempt {Attempt}); retrying", batch.Count, attempt);
                    if (stoppingToken.IsCancellationRequested && attempt >= 3)
                    {
                        foreach (var waiting in batch)
                        {
                            waiting.Written.TrySetException(e);
                        }
                        break;
                    }
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * attempt)), CancellationToken.None);
                }
            }
            foreach (var mark in batch)
            {
                mark.Written.TrySetResult();
            }
            batch.Clear();
        }
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _marks.Writer.TryComplete();
        return base.StopAsync(cancellationToken);
    }
}
