using System.Collections.Immutable;
using System.Text.Json;
using AspireBatch.Contracts;
using StackExchange.Redis;

namespace AspireBatch.Dashboard.Live;

/// <summary>
/// The one subscriber to the Redis channel in this process: every change the Api or the Worker publishes
/// is handed to the components that subscribed, which reload what they show.
/// </summary>
public sealed class LiveUpdates(ILogger<LiveUpdates> logger)
{
    private ImmutableArray<Subscription> _subscriptions = [];

    public int SubscriberCount => _subscriptions.Length;

    /// <summary>Registers a handler; dispose the result (in the component's Dispose) to stop receiving.</summary>
    public IDisposable Subscribe(Func<LiveEvent, Task> handler)
    {
        var subscription = new Subscription(this, handler);
        ImmutableInterlocked.Update(ref _subscriptions, s => s.Add(subscription));
        return subscription;
    }

    /// <summary>Hands one event to every subscriber; a failing subscriber does not stop the others.</summary>
    public async Task PublishAsync(LiveEvent liveEvent)
    {
        foreach (var subscription in _subscriptions)
        {
            try
            {
                await subscription.Handler(liveEvent);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "A live-update subscriber failed on {Kind}", liveEvent.Kind);
            }
        }
    }

    public static LiveEvent? Parse(string? message)
    {
        if (string.IsNullOrWhiteSpace(message))
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<LiveEvent>(message, JsonSerializerOptions.Web);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private void Remove(Subscription subscription) => ImmutableInterlocked.Update(ref _subscriptions, s => s.Remove(subscription));

    private sealed class Subscription(LiveUpdates owner, Func<LiveEvent, Task> handler) : IDisposable
    {
        public Func<LiveEvent, Task> Handler { get; } = handler;
        public void Dispose() => owner.Remove(this);
    }
}

/// <summary>Subscribes to <see cref="LiveEvent.Channel"/> once Redis answers, retrying while it does not.</summary>
public sealed class LiveUpdatesSubscriber(IServiceProvider services, LiveUpdates updates, ILogger<LiveUpdatesSubscriber> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var redis = services.GetRequiredService<IConnectionMultiplexer>();
                var queue = await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(LiveEvent.Channel));
                logger.LogInformation("Subscribed to {Channel}", LiveEvent.Channel);
                queue.OnMessage(async message =>
                {
                    if (LiveUpdates.Parse(message.Message) is { } liveEvent)
                    {
                        await updates.PublishAsync(liveEvent);
                    }
                });
                await Task.Delay(Timeout.Infinite, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "Cannot subscribe to {Channel}; pages fall back to slow polling. Retrying in 5 s", LiveEvent.Channel);
                await Task.Delay(TimeSpan.FromSeconds(5), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }
}
