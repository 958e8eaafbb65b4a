using System.Text.Json;
using AspireBatch.Contracts;
using StackExchange.Redis;

namespace AspireBatch.Api.Services;

/// <summary>Tells every Dashboard that something changed, so pages update without polling.</summary>
public sealed class LiveEvents(IConnectionMultiplexer redis, TimeProvider time)
{
    public async Task PublishAsync(string kind, Guid? jobId = null, Guid? routeId = null)
    {
        var message = JsonSerializer.Serialize(new LiveEvent(kind, jobId, routeId, time.GetUtcNow()));
        await redis.GetSubscriber().PublishAsync(RedisChannel.Literal(LiveEvent.Channel), message);
    }
}
