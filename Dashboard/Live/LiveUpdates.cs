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
    private volatile bool _connected;

    public int SubscriberCount => _subscriptions.Length;

    /// <summary>True while events are known to arrive: the subscriber's last ping came back through the channel.</summary>
    public bool Connected => _connected;

    /// <summary>Raised on the subscriber's thread when <see cref="Connected"/> changes.</summary>
    public event Action<bool>? ConnectedChanged;

    internal void SetConnected(bool connected)
    {
        if (_connected == connected)
        {
            return;
        }
        _connected = connected;
        foreach (var handler in ConnectedChanged?.GetInvocationList() ?? [])
        {
            try
            {
                ((Action<bool>)handler)(connected);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "A live-state subscriber failed");
            }
        }
    }

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

/// <summary>
/// Subscribes to <see cref="LiveEvent.Channel"/> and proves the subscription works with a ping through the channel
/// every 2 s. StackExchange.Redis subscribes again by itself when it reconnects; if a ping still does not come back
/// while Redis takes publishes, this drops the subscription and makes a new one. <see cref="LiveUpdates.Connected"/>
/// follows the pings, so pages know when to poll instead.
/// </summary>
public sealed class LiveUpdatesSubscriber(IServiceProvider services, LiveUpdates updates, ILogger<LiveUpdatesSubscriber> logger) : BackgroundService
{
    /// <summary>The kind of the subscriber's own pings; never handed to pages.</summary>
    public const string PingKind = "dashboard-ping";

    public static readonly TimeSpan PingEvery = TimeSpan.FromSeconds(2);

    /// <summary>How long a ping may take to come back before live updates count as paused.</summary>
    public static readonly TimeSpan PingWait = TimeSpan.FromSeconds(2);

    /// <summary>Pings published but not heard in a row before the subscription is made again.</summary>
    private const int DeafLimit = 2;

    private TaskCompletionSource _heard = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var redis = services.GetRequiredService<IConnectionMultiplexer>();
        var channel = RedisChannel.Literal(LiveEvent.Channel);
        ChannelMessageQueue? queue = null;
        var deaf = 0;
        var away = false;
        using var timer = new PeriodicTimer(PingEvery);
        do
        {
            try
            {
                if (queue is null)
                {
                    queue = await redis.GetSubscriber().SubscribeAsync(channel);
                    queue.OnMessage(OnMessageAsync);
                    logger.LogInformation("Subscribed to {Channel}", LiveEvent.Channel);
                }
                var heard = _heard = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                await redis.GetSubscriber().PublishAsync(channel, JsonSerializer.Serialize(new LiveEvent(PingKind, null, null, DateTimeOffset.UtcNow)));
                if (away)
                {
                    away = false;
                    logger.LogInformation("Redis takes publishes again; waiting for the live channel to deliver");
                }
                if (await Task.WhenAny(heard.Task, Task.Delay(PingWait, stoppingToken)) == heard.Task)
                {
                    deaf = 0;
                    updates.SetConnected(true);
                }
                else if (!stoppingToken.IsCancellationRequested)
                {
                    updates.SetConnected(false);
                    if (++deaf >= DeafLimit)
                    {
                        logger.LogWarning("{Count} pings in a row did not come back through {Channel}: subscribing again", deaf, LiveEvent.Channel);
                        deaf = 0;
                        var lost = queue;
                        queue = null;
                        await lost.UnsubscribeAsync();
                    }
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                updates.SetConnected(false);
                if (!RedisBreaker.IsRedisFault(e))
                {
                    logger.LogWarning(e, "Live updates paused by an unexpected error; trying again in {Seconds} s", PingEvery.TotalSeconds);
                }
                else if (!away)
                {
                    away = true;
                    logger.LogWarning(e, "Live updates paused: Redis is away; pages poll the Api until it answers");
                }
            }
        }
        while (await WaitAsync(timer, stoppingToken));
    }

    private async Task OnMessageAsync(ChannelMessage message)
    {
        // Any message proves the subscription delivers, another Dashboard's ping included.
        _heard.TrySetResult();
        if (LiveUpdates.Parse(message.Message) is { } liveEvent && liveEvent.Kind != PingKind)
        {
            await updates.PublishAsync(liveEvent);
        }
    }

    private static async Task<bool> WaitAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
