using System.Collections.Concurrent;
using System.Diagnostics;
using AspireBatch.Contracts;
using Microsoft.Extensions.Options;
using StackExchange.Redis;
using AspireBatch.Data.Lifecycle;

namespace AspireBatch.Worker.Execution;

/// <summary>
/// Keeps up to MaxInFlight calls running: claims items of running jobs in batches sized to the free slots
/// (round-robin over jobs), processes each on its own task and hands the outcome to the ResultWriter.
/// </summary>
public sealed class ExecutionEngine(
    ItemLifecycle items,
    JobLifecycle jobLifecycle,
    JobDirectory jobs,
    TargetDirectory targets,
    ModelCaller caller,
    ResultWriter results,
    LeaseKeeper leases,
    CallJournal journal,
    NativeBatch.NativeBatchPlanner planner,
    IOptions<WorkerOptions> options,
    IConnectionMultiplexer redis,
    ILogger<ExecutionEngine> logger) : BackgroundService
{
    public const string RefusedKeyReason = "the provider refused the API key (401/403) or has no credit left (insufficient_quota): fix the provider's key or billing, retry failed items, then resume";
    /// <summary>How long calls in flight may take to finish once the worker stops, before they are cancelled.</summary>
    public static readonly TimeSpan CallGrace = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan AfterCancel = TimeSpan.FromSeconds(1);
    private int _inFlight;
    private int _nextJob;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        logger.LogInformation("Worker ready to claim work: {MaxInFlight} calls in flight, lease {Lease} s", settings.MaxInFlight, settings.LeaseSeconds);
        using var slotFreed = new SemaphoreSlim(0);
        // Stopping ends claiming at once; calls have their own token so those in flight get CallGrace to finish.
        // Not disposed: a call that ignores its cancellation may still hold the token after this method returns.
        var calls = new CancellationTokenSource();
        _ = WatchJobEventsAsync(slotFreed, stoppingToken); // in the background: it waits for Redis if it must
        var running = new ConcurrentDictionary<long, Task>();
        // A few claimed items wait here so a freed slot starts its next call at once; claims then happen in batches
        // while calls are in flight, instead of one database round trip per item.
        var prefetched = new Queue<ClaimedItem>();
        var prefetch = Math.Max(1, settings.MaxInFlight / 2);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await jobs.RefreshAsync(force: false, stoppingToken);
                await targets.RefreshAsync(stoppingToken);
                var found = true;
                if (prefetched.Count <= prefetch / 2)
                {
                    var claimed = await ClaimAsync(settings.MaxInFlight + prefetch - Volatile.Read(ref _inFlight) - prefetched.Count, stoppingToken);
                    found = claimed.Count > 0;
                    foreach (var item in claimed)
                    {
                        leases.Hold(item.LeaseToken);
                        prefetched.Enqueue(item);
                    }
                }
                while (Volatile.Read(ref _inFlight) < settings.MaxInFlight && prefetched.TryDequeue(out var next))
                {
                    Interlocked.Increment(ref _inFlight);
                    var item = next;
                    running[item.Id] = Task.Run(async () =>
                    {
                        try
                        {
                            await ProcessAsync(item, calls.Token);
                        }
                        catch (Exception e)
                        {
                            // Its lease frees it; never let one item end the worker.
                            logger.LogError(e, "Processing item {ItemId} failed; its lease returns it to the queue", item.Id);
                        }
                        finally
                        {
                            journal.Forget(item);
                            leases.Release(item.LeaseToken);
                            Interlocked.Decrement(ref _inFlight);
                            running.TryRemove(item.Id, out _);
                            slotFreed.Release();
                        }
                    }, CancellationToken.None);
                }
                // Wake when a slot frees up (or a job is announced), or poll again for new work.
                if (!found || prefetched.Count > 0 || Volatile.Read(ref _inFlight) >= settings.MaxInFlight)
                {
                    await slotFreed.WaitAsync(settings.PollMilliseconds, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                logger.LogError(e, "Claiming work failed; trying again shortly");
                await PauseAsync(TimeSpan.FromSeconds(1), stoppingToken);
            }
        }
        // Claimed items that never started go back to the queue.
        var givenBack = prefetched.Count;
        while (prefetched.TryDequeue(out var unstarted))
        {
            leases.Release(unstarted.LeaseToken);
            await results.AddAsync(new ItemOutcome(unstarted, ItemState.Pending));
        }
        // Calls in flight get a few seconds to finish so their (paid) results are written; then they are cancelled.
        var inFlight = running.Values.ToArray();
        logger.LogInformation("Stopping: no more claims; {GivenBack} claimed item(s) given back, {InFlight} call(s) in flight", givenBack, inFlight.Length);
        var all = Task.WhenAll(inFlight);
        if (await Task.WhenAny(all, Task.Delay(CallGrace, CancellationToken.None)) != all)
        {
            logger.LogWarning("Stopping: cancelling {Count} call(s) still in flight after {Grace} s", running.Count, CallGrace.TotalSeconds);
            await calls.CancelAsync();
            await Task.WhenAny(all, Task.Delay(AfterCancel, CancellationToken.None));
        }
    }

    /// <summary>Waits, or less when the token fires; never throws.</summary>
    private static async Task PauseAsync(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// New, resumed or retried jobs start at once: the Api's announcement wakes the claim loop; a changed route,
    /// provider or price is reloaded before the next call. When Redis is away at
    /// start the subscription is tried again every few seconds (once made, the client renews it after a reconnect);
    /// meanwhile new jobs start within the refresh interval.
    /// </summary>
    private async Task WatchJobEventsAsync(SemaphoreSlim wake, CancellationToken stoppingToken)
    {
        for (var attempt = 0; !stoppingToken.IsCancellationRequested; attempt++)
        {
            try
            {
                await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(LiveEvent.Channel), (_, message) =>
                {
                    switch (System.Text.Json.JsonSerializer.Deserialize<LiveEvent>(message.ToString()))
                    {
                        case { Kind: LiveEvent.Job }:
                            jobs.MarkStale();
                            wake.Release();
                            break;
                        case { Kind: LiveEvent.Route or LiveEvent.Provider or LiveEvent.Catalog }:
                            // A switch, an adoption or a new key reaches the next call, not the next refresh.
                            targets.MarkStale();
                            break;
                    }
                });
                if (attempt > 0)
                {
                    logger.LogInformation("Subscribed to job announcements after {Attempts} tries", attempt + 1);
                }
                return;
            }
            catch (Exception e) when (e is RedisException or TimeoutException or InvalidOperationException)
            {
                if (attempt == 0)
                {
                    logger.LogWarning(e, "Not subscribed to job announcements yet; new jobs start within the refresh interval meanwhile");
                }
            }
            await PauseAsync(TimeSpan.FromSeconds(5), stoppingToken);
        }
    }

    private async Task<IReadOnlyList<ClaimedItem>> ClaimAsync(int free, CancellationToken cancellationToken)
    {
        var running = jobs.Running.ToList();
        if (free <= 0 || running.Count == 0)
        {
            return [];
        }
        var claimed = new List<ClaimedItem>();
        for (var i = 0; i < running.Count && claimed.Count < free; i++)
        {
            var job = running[(_nextJob + i) % running.Count];
            if (job.Mode != JobMode.Realtime && !await planner.RealtimeAllowedAsync(job, cancellationToken))
            {
                // Its records go to provider batches (NativeBatchEngine) for now.
                continue;
            }
            claimed.AddRange(await items.ClaimAsync(job.Id, free - claimed.Count, options.Value.LeaseSeconds, cancellationToken));
        }
        _nextJob++;
        return claimed;
    }

    /// <param name="callsToken">Cancelled when the worker stops and the call grace is over.</param>
    private async Task ProcessAsync(ClaimedItem item, CancellationToken callsToken)
    {
        var job = jobs.Get(item.JobId);
        ItemOutcome outcome;
        var links = job?.TraceParent is { } parent && ActivityContext.TryParse(parent, null, out var jobContext)
            ? new[] { new ActivityLink(jobContext) }
            : null;
        // Each item is its own trace, linked to the request that created the job.
        using var activity = WorkerTelemetry.Source.StartActivity("process item", ActivityKind.Internal, parentContext: default, links: links);
        activity?.SetTag("aspirebatch.job.id", item.JobId);
        activity?.SetTag("aspirebatch.item.id", item.Id);
        activity?.SetTag("aspirebatch.item.custom_id", item.CustomId);
        if (job is null)
        {
            outcome = Halted(item);
        }
        else
        {
            try
            {
                var chain = await targets.ChainAsync(job.RouteId, job.ProviderId, job.ModelName, item.Id, callsToken);
                // Still running, and still on the target this item was sent to: after a move of the leftovers the item
                // goes back to the queue (with its calls) and the new target takes it, instead of failing on the old one.
                outcome = await caller.ProcessAsync(item, job, chain, () => jobs.Get(item.JobId) is { } now
                    && now.RouteId == job.RouteId && now.ProviderId == job.ProviderId && now.ModelName == job.ModelName, callsToken);
            }
            catch (JobHaltedException halted)
            {
                outcome = Halted(item) with { Attempts = halted.Attempts };
            }
            catch (CircuitOpenException open)
            {
                // Give the provider a moment before the item is claimed again; the calls it made stay in the ledger.
                await PauseAsync(TimeSpan.FromSeconds(2), callsToken);
                outcome = new ItemOutcome(item, ItemState.Pending, Attempts: open.Attempts);
            }
            catch (OperationCanceledException) when (callsToken.IsCancellationRequested)
            {
                if (journal.HasMarkedCalls(item))
                {
                    // Cancelled with a call out: the provider may have answered (and charged) it, and a written give-back
                    // would erase its mark. So nothing is written: the lease expires, and the sweeper records the marked
                    // calls as in-doubt attempts and returns the item to the queue.
                    logger.LogWarning("Stopping: item {ItemId} had a call cancelled in flight; its lease returns it, the call is kept as in doubt", item.Id);
                    return;
                }
                // Cancelled before any call went out (waiting for a slot or a retry): give it back now.
                outcome = new ItemOutcome(item, ItemState.Pending);
            }
            catch (Exception e)
            {
                // Our fault, not the provider's: the item goes back to the queue (see ModelCaller.OwnFault).
                outcome = caller.OwnFault(item, [], e);
            }
        }
        if (outcome.State == ItemState.Failed && (outcome.StatusCode is 401 or 403 || outcome.ErrorCode == "insufficient_quota"))
        {
            // A refused key will be refused for every record: stop this job's calls now, here and (through the database) everywhere.
            jobs.Halt(item.JobId, JobState.Paused);
            try
            {
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(callsToken);
                bounded.CancelAfter(TimeSpan.FromSeconds(10));
                await jobLifecycle.PauseOnRefusedKeyAsync(item.JobId, RefusedKeyReason, bounded.Token);
            }
            catch (Exception e)
            {
                // The other workers meet the same refusal and pause it; the failed result is still written below.
                logger.LogError(e, "Could not pause job {JobId} after its key was refused", item.JobId);
            }
        }
        if (outcome.Internal && outcome.State == ItemState.Pending)
        {
            // Our side is unwell (Redis or Postgres away): hold the slot a while, growing with the item's tally, so the
            // item is not spun through its internal-error allowance in a second. Stopping cuts the wait short.
            await PauseAsync(TimeSpan.FromSeconds(Math.Min(30, Math.Pow(2, item.InternalErrors))), callsToken);
        }
        activity?.SetTag("aspirebatch.item.state", outcome.State.ToString().ToLowerInvariant());
        if (outcome.State == ItemState.Failed)
        {
            activity?.SetStatus(ActivityStatusCode.Error, outcome.ErrorCode);
        }
        await results.AddAsync(job is null ? outcome : outcome with { SentTo = new JobTargetSent(job.RouteId, job.ProviderId, job.ModelName) });
    }

    /// <summary>The job stopped while the item waited: a paused job gets it back, a cancelled one cancels it.</summary>
    private ItemOutcome Halted(ClaimedItem item) =>
        new(item, jobs.StateOf(item.JobId) == JobState.Cancelled ? ItemState.Cancelled : ItemState.Pending);
}
