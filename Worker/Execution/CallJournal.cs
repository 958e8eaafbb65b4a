using System.Collections.Concurrent;
using System.Threading.Channels;
using AspireBatch.Data.Lifecycle;

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

    // Items (by claim) with at least one durable mark whose result is not settled yet.
    private readonly ConcurrentDictionary<(long Id, Guid Lease), int> _marked = new();

    /// <summary>Returns once the mark is durable; the call may then be sent.</summary>
    public async Task MarkAsync(ClaimedItem item, CallTarget target, decimal possibleCostUsd, CancellationToken cancellationToken)
    {
        var mark = new CallMark(item, target, possibleCostUsd);
        await _marks.Writer.WriteAsync(mark, cancellationToken);
        await mark.Written.Task.WaitAsync(cancellationToken);
        _marked.AddOrUpdate((item.Id, item.LeaseToken), 1, (_, n) => n + 1);
    }

    /// <summary>Whether a call of this claim was written down as going out (so the provider may have served it).</summary>
    public bool HasMarkedCalls(ClaimedItem item) => _marked.ContainsKey((item.Id, item.LeaseToken));

    /// <summary>The item's processing is over, whatever its outcome.</summary>
    public void Forget(ClaimedItem item) => _marked.TryRemove((item.Id, item.LeaseToken), out _);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<CallMark>(256);
        try
        {
            while (await _marks.Reader.WaitToReadAsync(stoppingToken))
            {
                while (batch.Count < 1000 && _marks.Reader.TryRead(out var mark))
                {
                    batch.Add(mark);
                }
                // Until it is written no call goes out: while Postgres is away calls wait here, they do not fail.
                await WriteAsync(batch, stoppingToken);
                foreach (var mark in batch)
                {
                    mark.Written.TrySetResult();
                }
                batch.Clear();
            }
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping (the engine has stopped first): marks not written mean calls that are never sent.
            var stopped = new InvalidOperationException("the worker stopped before this call could be recorded; it was not sent");
            while (_marks.Reader.TryRead(out var left))
            {
                batch.Add(left);
            }
            foreach (var waiting in batch)
            {
                waiting.Written.TrySetException(stopped);
            }
            if (batch.Count > 0)
            {
                logger.LogWarning("Stopping: {Count} call(s) not recorded, so not sent", batch.Count);
            }
        }
    }

    /// <summary>Retries until written; ends only when the worker stops (then within one short delay).</summary>
    private async Task WriteAsync(List<CallMark> batch, CancellationToken stoppingToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await store.MarkCallsAsync(batch, stoppingToken);
                return;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(e, "Recording {Count} calls about to start failed (attempt {Attempt}); retrying", batch.Count, attempt);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 100 * attempt)), stoppingToken);
            }
        }
    }

    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _marks.Writer.TryComplete();
        return base.StopAsync(cancellationToken);
    }
}
