using System.Threading.Channels;
using AspireBatch.Contracts;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace AspireBatch.Worker.Execution;

/// <summary>
/// Collects item outcomes and writes them in batches (one transaction each), then settles jobs that finished or ran
/// out of budget and tells the Dashboard. A failed write is retried: nothing accepted is dropped.
/// </summary>
public sealed class ResultWriter(ItemStore store, IConnectionMultiplexer redis, IOptions<WorkerOptions> options, WorkerTelemetry telemetry, ILogger<ResultWriter> logger)
    : BackgroundService
{
    private readonly Channel<ItemOutcome> _outcomes = Channel.CreateUnbounded<ItemOutcome>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<Guid, DateTimeOffset> _lastAnnounced = [];

    public int Queued => _outcomes.Reader.Count;

    public ValueTask AddAsync(ItemOutcome outcome) => _outcomes.Writer.WriteAsync(outcome);

    /// <summary>The engine stops first (it is registered later); then no more outcomes come and the queue drains.</summary>
    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _outcomes.Writer.TryComplete();
        return base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<ItemOutcome>(options.Value.ResultBatchSize);
        var flushAfter = TimeSpan.FromMilliseconds(options.Value.ResultFlushMilliseconds);
        // Stopping drains what is queued, so a graceful shutdown loses no paid result.
        while (await _outcomes.Reader.WaitToReadAsync(CancellationToken.None))
        {
            var deadline = DateTime.UtcNow + flushAfter;
            while (batch.Count < options.Value.ResultBatchSize)
            {
                if (_outcomes.Reader.TryRead(out var outcome))
                {
                    batch.Add(outcome);
                    continue;
                }
                var remaining = deadline - DateTime.UtcNow;
                if (remaining <= TimeSpan.Zero || stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                using var wait = new CancellationTokenSource(remaining);
                try
                {
                    await _outcomes.Reader.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            await WriteAsync(batch);
            batch.Clear();
            if (stoppingToken.IsCancellationRequested && _outcomes.Reader.Count == 0)
            {
                break;
            }
        }
    }

    private async Task WriteAsync(List<ItemOutcome> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var accepted = await store.WriteAsync(batch, CancellationToken.None);
                if (accepted.Count < batch.Count)
                {
                    logger.LogWarning("{Refused} result(s) refused: their lease expired and another worker owns them", batch.Count - accepted.Count);
                }
                var acceptedIds = accepted.ToHashSet();
                // Only what the database took counts: a refused (fenced-off) result finished nothing.
                foreach (var outcome in batch.Where(o => acceptedIds.Contains(o.Item.Id) && o.State is ItemState.Succeeded or ItemState.Failed or ItemState.Cancelled))
                {
                    telemetry.ItemsCompleted.Add(1, new KeyValuePair<string, object?>("state", outcome.State.ToString().ToLowerInvariant()));
                }
                var jobs = batch.Select(o => o.Item.JobId).Distinct().ToArray();
                var settled = await store.SettleJobsAsync(jobs, CancellationToken.None);
                await AnnounceAsync(jobs, settled);
                return;
            }
            catch (Exception e) when (attempt < 1000)
            {
                logger.LogError(e, "Writing {Count} results failed (attempt {Attempt}); retrying", batch.Count, attempt);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, attempt)));
            }
        }
    }

    /// <summary>Progress events at most once a second per job, state changes at once.</summary>
    private async Task AnnounceAsync(Guid[] jobs, IReadOnlyList<Guid> settled)
    {
        var now = DateTimeOffset.UtcNow;
        var subscriber = redis.GetSubscriber();
        foreach (var job in jobs)
        {
            if (!settled.Contains(job) && _lastAnnounced.TryGetValue(job, out var last) && now - last < TimeSpan.FromSeconds(1))
            {
                continue;
            }
            _lastAnnounced[job] = now;
            try
            {
                await subscriber.PublishAsync(RedisChannel.Literal(LiveEvent.Channel),
                    System.Text.Json.JsonSerializer.Serialize(new LiveEvent("job", job, null, now)));
            }
            catch (RedisException e)
            {
                logger.LogDebug(e, "Could not announce progress of job {JobId}", job);
            }
        }
    }
}
