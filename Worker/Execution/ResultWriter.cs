using System.Threading.Channels;
using AspireBatch.Contracts;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using AspireBatch.Data.Live;
using AspireBatch.Data.Lifecycle;

namespace AspireBatch.Worker.Execution;

/// <summary>
/// Collects item outcomes and writes them in batches (one transaction each), then settles jobs that finished or ran
/// out of budget and tells the Dashboard. A failed write is retried for as long as it takes: nothing accepted is
/// dropped while the worker runs.
/// </summary>
public sealed class ResultWriter(
    ItemLifecycle items,
    JobLifecycle jobLifecycle,
    LivePublisher live,
    LeaseKeeper leases,
    IOptions<WorkerOptions> options,
    IOptions<HostOptions> hostOptions,
    IHostApplicationLifetime lifetime,
    WorkerTelemetry telemetry,
    ILogger<ResultWriter> logger) : BackgroundService
{
    private static readonly ResiliencePropertyKey<string> Step = new("aspirebatch.result-step");

    private readonly Channel<ItemOutcome> _outcomes = Channel.CreateUnbounded<ItemOutcome>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<Guid, DateTimeOffset> _lastAnnounced = [];

    // Fires shortly before the host's shutdown timeout: the last chance to stop writing and say what is left.
    private readonly CancellationTokenSource _giveUp = new();

    // Exponential backoff with jitter, capped at 10 s, with no attempt limit: only giving up at shutdown ends it.
    private ResiliencePipeline? _retry;

    public int Queued => _outcomes.Reader.Count;

    public ValueTask AddAsync(ItemOutcome outcome)
    {
        // The lease is renewed until the result is written: an answer waiting out a database outage is not a dead
        // worker's item, and must not run again.
        leases.Hold(outcome.Item.LeaseToken);
        if (!_outcomes.Writer.TryWrite(outcome))
        {
            leases.Release(outcome.Item.LeaseToken);
            // Only after the writer stopped (a call that outlived the shutdown): the item's lease returns it.
            logger.LogWarning("Result of item {ItemId} arrived after shutdown; not written, its lease returns it", outcome.Item.Id);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>The engine stops first (it is registered later); then no more outcomes come and the queue drains.</summary>
    public override Task StopAsync(CancellationToken cancellationToken)
    {
        _outcomes.Writer.TryComplete();
        // Backstop: if the host's own deadline comes first, stop writing at once.
        cancellationToken.Register(() => _giveUp.Cancel());
        return base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is not null && !args.Context.CancellationToken.IsCancellationRequested),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(250),
            MaxDelay = TimeSpan.FromSeconds(10),
            OnRetry = args =>
            {
                logger.LogError(args.Outcome.Exception, "{Step} failed (attempt {Attempt}); retrying in {Delay:0.0} s",
                    args.Context.Properties.GetValue(Step, "writing results"), args.AttemptNumber + 1, args.RetryDelay.TotalSeconds);
                return ValueTask.CompletedTask;
            },
        }).Build();
        // Stopping drains what it can until shortly before the host's deadline, then gives up. Giving up loses nothing
        // accepted: a result counts only once its transaction commits, so an unwritten one leaves its item leased; the
        // lease expires, the sweeper returns the item to the queue (its marked calls become in-doubt attempts) and the
        // item runs again. Waiting longer would only keep a stopping process alive, orphaned, when Postgres is gone.
        var drainFor = hostOptions.Value.ShutdownTimeout - TimeSpan.FromSeconds(1);
        using var stopping = lifetime.ApplicationStopping.Register(() => _giveUp.CancelAfter(drainFor > TimeSpan.Zero ? drainFor : TimeSpan.Zero));
        var giveUp = _giveUp.Token;
        var batch = new List<ItemOutcome>(options.Value.ResultBatchSize);
        var flushAfter = TimeSpan.FromMilliseconds(options.Value.ResultFlushMilliseconds);
        try
        {
            while (await _outcomes.Reader.WaitToReadAsync(giveUp))
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
                    using var wait = CancellationTokenSource.CreateLinkedTokenSource(giveUp);
                    wait.CancelAfter(remaining);
                    try
                    {
                        await _outcomes.Reader.WaitToReadAsync(wait.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
                await WriteAsync(batch, giveUp);
                batch.Clear();
            }
        }
        catch (Exception) when (giveUp.IsCancellationRequested)
        {
            var left = batch.Count + _outcomes.Reader.Count;
            if (left > 0)
            {
                logger.LogWarning("Stopping: gave up writing {Count} result(s) before the shutdown deadline; their leases expire and the items run again", left);
            }
        }
    }

    private async Task WriteAsync(List<ItemOutcome> batch, CancellationToken giveUp)
    {
        var retry = _retry!;
        var attempts = 0;
        var accepted = await RunAsync(retry, "Writing results", async token =>
        {
            attempts++;
            return await items.WriteAsync(batch, token);
        }, giveUp);
        foreach (var outcome in batch)
        {
            leases.Release(outcome.Item.LeaseToken);
        }
        var acceptedIds = accepted.ToHashSet();
        var refused = batch.Count - accepted.Count;
        if (refused > 0)
        {
            // After a failed attempt the database may have committed it anyway and only the answer got lost.
            logger.LogWarning(attempts == 1
                    ? "{Accepted} of {Count} result(s) written; {Refused} refused: their lease expired and another worker owns them (attempt {Attempts})"
                    : "{Accepted} of {Count} result(s) written; {Refused} refused: their lease expired, or a failed attempt had committed them after all (attempt {Attempts})",
                accepted.Count, batch.Count, refused, attempts);
        }
        else if (attempts > 1)
        {
            logger.LogInformation("{Accepted} result(s) written at attempt {Attempts}", accepted.Count, attempts);
        }
        // Only what the database took counts: a refused (fenced-off) result finished nothing.
        foreach (var outcome in batch.Where(o => acceptedIds.Contains(o.Item.Id) && o.State is ItemState.Succeeded or ItemState.Failed or ItemState.Cancelled))
        {
            telemetry.ItemsCompleted.Add(1, new KeyValuePair<string, object?>("state", outcome.State.ToString().ToLowerInvariant()));
        }
        // Settled apart from the write, so a failed settle never writes (and refuses) the batch again.
        var jobs = batch.Select(o => o.Item.JobId).Distinct().ToArray();
        var settled = await RunAsync(retry, "Settling jobs", token => jobLifecycle.SettleAsync(jobs, token), giveUp);
        await AnnounceAsync(jobs, settled);
    }

    private static async Task<T> RunAsync<T>(ResiliencePipeline retry, string step, Func<CancellationToken, Task<T>> action, CancellationToken cancellationToken)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(Step, step);
        try
        {
            return await retry.ExecuteAsync(async (ctx, run) => await run(ctx.CancellationToken), context, action);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>Progress events at most once a second per job, state changes at once; never waits long for Redis.</summary>
    private async Task AnnounceAsync(Guid[] jobs, IReadOnlyList<Guid> settled)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var job in jobs)
        {
            if (!settled.Contains(job) && _lastAnnounced.TryGetValue(job, out var last) && now - last < TimeSpan.FromSeconds(1))
            {
                continue;
            }
            _lastAnnounced[job] = now;
            await live.JobChangedAsync(job);
        }
    }
}
