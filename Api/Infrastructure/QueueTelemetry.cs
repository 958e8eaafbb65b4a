using System.Diagnostics.Metrics;
using AspireBatch.Contracts;
using Npgsql;

namespace AspireBatch.Api.Infrastructure;

/// <summary>
/// The queue depth, for autoscaling workers: <c>aspirebatch.items.pending</c>, the records of queued and running jobs
/// that wait for a worker (duplicates that take their leader's answer left out, as the claim leaves them out).
/// Postgres is asked at most every <see cref="MaxAge"/>, only when a metrics reader collects, and never on the
/// collecting thread: a collection reports the last figure read and starts the next read when it is due. Each Api
/// replica exports the same figure; whoever reads it takes the max (docs/deploy.md: OTLP, collector, Prometheus,
/// prometheus-adapter, the Worker's HPA).
/// </summary>
public sealed class QueueTelemetry : IDisposable
{
    public const string PendingItems = "aspirebatch.items.pending";
    public static readonly TimeSpan MaxAge = TimeSpan.FromSeconds(5);

    private readonly Meter _meter;
    private readonly Func<CancellationToken, Task<long>> _countPending;
    private readonly TimeProvider _time;
    private readonly ILogger<QueueTelemetry> _logger;
    private long _pending = -1;
    private long _readAt;
    private int _reading;

    public QueueTelemetry(IMeterFactory meters, Func<CancellationToken, Task<long>> countPending, TimeProvider time, ILogger<QueueTelemetry> logger)
    {
        _countPending = countPending;
        _time = time;
        _logger = logger;
        _meter = meters.Create(Microsoft.Extensions.Hosting.Extensions.TelemetryName);
        _meter.CreateObservableGauge(PendingItems, Observe, "{item}", "Records of queued and running jobs waiting for a worker");
    }

    /// <summary>The last figure read (none before the first read), starting a read when the last is older than <see cref="MaxAge"/>.</summary>
    internal IEnumerable<Measurement<long>> Observe()
    {
        if ((_readAt == 0 || _time.GetElapsedTime(Volatile.Read(ref _readAt)) >= MaxAge) && Interlocked.CompareExchange(ref _reading, 1, 0) == 0)
        {
            _ = ReadAsync();
        }
        var pending = Volatile.Read(ref _pending);
        return pending < 0 ? [] : [new Measurement<long>(pending)];
    }

    private async Task ReadAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            Volatile.Write(ref _pending, await _countPending(timeout.Token));
        }
        catch (Exception e)
        {
            // The last figure stands; an autoscaler holds still rather than acting on a guess.
            _logger.LogWarning("Could not count pending items for {Metric}: {Error}", PendingItems, e.Message);
        }
        finally
        {
            Volatile.Write(ref _readAt, _time.GetTimestamp());
            Volatile.Write(ref _reading, 0);
        }
    }

    /// <summary>The count itself: one index-only scan of ix_items_pending per queued or running job.</summary>
    public static async Task<long> CountPendingAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT count(*) FROM items i JOIN jobs j ON j.id = i.job_id
            WHERE i.state = @pending AND i.duplicate_of IS NULL AND j.state = ANY(@active)
            """);
        command.Parameters.AddWithValue("pending", (int)ItemState.Pending);
        command.Parameters.AddWithValue("active", new[] { (int)JobState.Queued, (int)JobState.Running });
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public void Dispose() => _meter.Dispose();
}
