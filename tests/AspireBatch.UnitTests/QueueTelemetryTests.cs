using System.Diagnostics.Metrics;
using AspireBatch.Api.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireBatch.UnitTests;

/// <summary>
/// The queue-depth gauge the Worker's autoscaler follows: it reports the last count, asks Postgres at most every 5 s
/// and never while a collection waits (the count itself, one SQL statement, runs in the stack tests' database only).
/// </summary>
public sealed class QueueTelemetryTests
{
    [Fact]
    public async Task The_first_collection_starts_a_read_and_reports_nothing_until_it_answers()
    {
        var time = new ManualTime();
        var answer = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var telemetry = Create(_ => answer.Task, time);

        Assert.Empty(telemetry.Observe());
        answer.SetResult(1_234);
        await WaitUntilAsync(() => telemetry.Observe().Any());

        Assert.Equal(1_234, Assert.Single(telemetry.Observe()).Value);
    }

    [Fact]
    public async Task Postgres_is_asked_again_only_when_the_last_count_is_five_seconds_old()
    {
        var time = new ManualTime();
        var reads = 0;
        using var telemetry = Create(_ => Task.FromResult(100L * Interlocked.Increment(ref reads)), time);

        await WaitUntilAsync(() => telemetry.Observe().Any());
        for (var i = 0; i < 10; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(400));
            Assert.Equal(100, Assert.Single(telemetry.Observe()).Value);
        }
        Assert.Equal(1, reads);

        time.Advance(TimeSpan.FromSeconds(1));
        await WaitUntilAsync(() => telemetry.Observe().Single().Value == 200);
        Assert.Equal(2, reads);
    }

    [Fact]
    public async Task A_failed_read_keeps_the_last_count()
    {
        var time = new ManualTime();
        var fail = false;
        using var telemetry = Create(_ => fail ? Task.FromException<long>(new TimeoutException("database away")) : Task.FromResult(42L), time);

        await WaitUntilAsync(() => telemetry.Observe().Any());
        fail = true;
        time.Advance(TimeSpan.FromSeconds(6));
        telemetry.Observe();
        time.Advance(TimeSpan.FromSeconds(6));

        Assert.Equal(42, Assert.Single(telemetry.Observe()).Value);
    }

    [Fact]
    public async Task The_gauge_is_published_on_the_aspirebatch_meter()
    {
        using var telemetry = Create(_ => Task.FromResult(7L), new ManualTime());
        var seen = new List<(string Meter, string Unit, long Value)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == QueueTelemetry.PendingItems)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) => seen.Add((instrument.Meter.Name, instrument.Unit!, value)));
        listener.Start();

        await WaitUntilAsync(() =>
        {
            listener.RecordObservableInstruments();
            return seen.Count > 0;
        });

        Assert.Equal(("AspireBatch", "{item}", 7L), seen[^1]);
    }

    private static QueueTelemetry Create(Func<CancellationToken, Task<long>> count, TimeProvider time) =>
        new(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<IMeterFactory>(), count, time, NullLogger<QueueTelemetry>.Instance);

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(10, TestContext.Current.CancellationToken);
        }
        Assert.True(condition(), "condition not met within 2 s");
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = TimeSpan.FromHours(1).Ticks;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
