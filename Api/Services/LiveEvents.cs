using System.Text.Json;
using AspireBatch.Contracts;
using StackExchange.Redis;

namespace AspireBatch.Api.Services;

/// <summary>
/// Tells every Dashboard that something changed, so pages update without polling. Callers publish after their change
/// committed, so a publish never fails the request and never holds it up for long: Dashboards and Workers also poll.
/// </summary>
public sealed class LiveEvents(IConnectionMultiplexer redis, TimeProvider time, ILogger<LiveEvents> logger)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(250);

    public async Task PublishAsync(string kind, Guid? jobId = null, Guid? routeId = null)
    {
        try
        {
            var message = JsonSerializer.Serialize(new LiveEvent(kind, jobId, routeId, time.GetUtcNow()));
            var publish = redis.GetSubscriber().PublishAsync(RedisChannel.Literal(LiveEvent.Channel), message);
            // A publish left behind by the timeout may still fail later: observe it so it is not an unobserved exception.
            _ = publish.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            await publish.WaitAsync(Timeout, time);
        }
        catch (Exception e)
        {
            // Redis away, slow, or its connection closing (InvalidOperationException, ObjectDisposedException): the
            // change is committed; listeners catch up at their next poll.
            logger.LogWarning(e, "Could not announce {Kind} event (job {JobId}, route {RouteId}); listeners catch up when they poll", kind, jobId, routeId);
        }
    }
}
