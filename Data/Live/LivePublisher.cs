using System.Text.Json;
using AspireBatch.Contracts;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace AspireBatch.Data.Live;

/// <summary>
/// The one publisher of live events, for the Api, the Workers and the route monitor: tells every Dashboard and
/// Worker that a job, route, provider, the catalog or the audit log changed. Callers publish after their change committed, so a
/// publish never fails its caller and never holds it up past <see cref="Timeout"/>; listeners also poll, and catch up.
/// </summary>
public sealed class LivePublisher(IConnectionMultiplexer redis, TimeProvider time, ILogger<LivePublisher> logger)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan WarnEvery = TimeSpan.FromSeconds(30);
    private long _lastWarnedTicks;

    public Task JobChangedAsync(Guid jobId) => PublishAsync(new LiveEvent(LiveEvent.Job, jobId, null, time.GetUtcNow()));

    /// <summary>A route changed; null when one was created or its id is not at hand (listeners reload every route).</summary>
    public Task RouteChangedAsync(Guid? routeId) => PublishAsync(new LiveEvent(LiveEvent.Route, null, routeId, time.GetUtcNow()));

    public Task ProviderChangedAsync() => PublishAsync(new LiveEvent(LiveEvent.Provider, null, null, time.GetUtcNow()));

    /// <summary>Models, prices or aliases changed: what a job may name.</summary>
    public Task CatalogChangedAsync() => PublishAsync(new LiveEvent(LiveEvent.Catalog, null, null, time.GetUtcNow()));

    /// <summary>A change was recorded in the audit log (the Audit page reloads).</summary>
    public Task AuditChangedAsync() => PublishAsync(new LiveEvent(LiveEvent.Audit, null, null, time.GetUtcNow()));

    private async Task PublishAsync(LiveEvent liveEvent)
    {
        try
        {
            var publish = redis.GetSubscriber().PublishAsync(RedisChannel.Literal(LiveEvent.Channel), JsonSerializer.Serialize(liveEvent));
            // A publish left behind by the timeout may still fail later: observe it so it is not an unobserved exception.
            _ = publish.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            await publish.WaitAsync(Timeout, time);
        }
        catch (Exception e)
        {
            // Redis away, slow, or its connection closing (RedisException, TimeoutException, InvalidOperationException,
            // ObjectDisposedException): the change is committed. One warning per outage-ish interval, not one per event.
            var now = time.GetUtcNow().UtcTicks;
            var last = Interlocked.Read(ref _lastWarnedTicks);
            if (now - last >= WarnEvery.Ticks && Interlocked.CompareExchange(ref _lastWarnedTicks, now, last) == last)
            {
                logger.LogWarning(e, "Could not announce a {Kind} change; listeners catch up when they poll (said at most every {Seconds} s)", liveEvent.Kind, WarnEvery.TotalSeconds);
            }
            else
            {
                logger.LogDebug(e, "Could not announce a {Kind} change", liveEvent.Kind);
            }
        }
    }
}
