using AspireBatch.Data.Live;

namespace AspireBatch.UnitTests;

/// <summary>The pure arithmetic of a target's sliding window: latency bins, the p95 read from them, and which buckets a read covers.</summary>
public sealed class TargetWindowTests
{
    // Bin upper bounds (inclusive), ms: 50, 100, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000, open.
    private const int Bins = 15;

    [Theory]
    [InlineData(0, 0)]
    [InlineData(-5, 0)]
    [InlineData(50, 0)]
    [InlineData(51, 1)]
    [InlineData(100, 1)]
    [InlineData(101, 2)]
    [InlineData(500, 5)]
    [InlineData(501, 6)]
    [InlineData(750, 6)]
    [InlineData(1_000, 7)]
    [InlineData(30_000, 13)]
    [InlineData(30_001, 14)]
    [InlineData(int.MaxValue, 14)]
    public void A_latency_goes_into_the_first_bin_whose_upper_bound_it_does_not_exceed(int latencyMs, int bin)
    {
        Assert.Equal(bin, TargetWindow.BinOf(latencyMs));
    }

    [Fact]
    public void No_calls_give_a_p95_of_0()
    {
        Assert.Equal(0, TargetWindow.Percentile(new long[Bins], 0, 0.95));
    }

    [Fact]
    public void The_p95_is_the_upper_bound_of_the_bin_holding_the_95th_percent_call()
    {
        // 100 calls: 95 at <= 100 ms, 5 at <= 1000 ms: rank 95 falls in the 100 ms bin.
        var bins = Histogram((100, 95), (1_000, 5));
        Assert.Equal(100, TargetWindow.Percentile(bins, 100, 0.95));
    }

    [Fact]
    public void One_call_more_in_the_slow_bin_moves_the_p95_there()
    {
        var bins = Histogram((100, 94), (1_000, 6));
        Assert.Equal(1_000, TargetWindow.Percentile(bins, 100, 0.95));
    }

    [Fact]
    public void With_20_calls_the_19th_is_the_p95()
    {
        // ceil(20 * 0.95) = 19: 19 fast calls keep the p95 fast even with one very slow call.
        Assert.Equal(50, TargetWindow.Percentile(Histogram((50, 19), (10_000, 1)), 20, 0.95));
        Assert.Equal(10_000, TargetWindow.Percentile(Histogram((50, 18), (10_000, 2)), 20, 0.95));
    }

    [Theory]
    [InlineData(0.5, 200)]
    [InlineData(0.9, 500)]
    [InlineData(0.99, 2_000)]
    [InlineData(1.0, 2_000)]
    public void Other_quantiles_read_the_same_histogram(double quantile, double expected)
    {
        // 100 calls: 50 at <= 200 ms, 40 at <= 500 ms, 10 at <= 2000 ms.
        Assert.Equal(expected, TargetWindow.Percentile(Histogram((200, 50), (500, 40), (2_000, 10)), 100, quantile));
    }

    [Fact]
    public void Calls_in_the_open_ended_bin_read_as_the_last_bounded_one()
    {
        var bins = new long[Bins];
        bins[14] = 10;
        Assert.Equal(30_000, TargetWindow.Percentile(bins, 10, 0.95));
    }

    [Fact]
    public void Bins_that_hold_fewer_calls_than_counted_give_the_last_bounded_bin()
    {
        // The calls counter and the bins are separate hash fields; if they ever disagree the p95 stays finite.
        Assert.Equal(30_000, TargetWindow.Percentile(Histogram((100, 5)), 10, 0.95));
    }

    // --- Buckets a read covers (10 s each) ---

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_005);
    private const long NowBucket = 170_000_000;

    [Theory]
    [InlineData(300, 30)]
    [InlineData(60, 6)]
    [InlineData(10, 1)]
    [InlineData(15, 1)]
    [InlineData(5, 1)]
    [InlineData(0, 1)]
    public void A_read_covers_the_window_in_whole_buckets_ending_with_the_current_one(int windowSeconds, long buckets)
    {
        var (first, last) = TargetWindow.Buckets(Now, windowSeconds, since: null);
        Assert.Equal(NowBucket, last);
        Assert.Equal(buckets, last - first + 1);
    }

    [Fact]
    public void After_a_switch_only_the_buckets_that_start_after_it_count()
    {
        var switchedAt = DateTimeOffset.FromUnixTimeSeconds(1_699_999_953); // in bucket NowBucket - 5
        Assert.Equal((NowBucket - 4, NowBucket), TargetWindow.Buckets(Now, 300, switchedAt));
    }

    [Fact]
    public void A_switch_older_than_the_window_changes_nothing()
    {
        Assert.Equal((NowBucket - 29, NowBucket), TargetWindow.Buckets(Now, 300, Now.AddHours(-1)));
    }

    [Fact]
    public void Right_after_a_switch_the_window_is_empty()
    {
        // The switch's own bucket holds calls from before it: the read starts at the next one, so it covers nothing yet.
        var (first, last) = TargetWindow.Buckets(Now, 300, Now.AddSeconds(-1));
        Assert.True(first > last);
    }

    private static long[] Histogram(params (int UpperMs, long Calls)[] counts)
    {
        var bins = new long[Bins];
        foreach (var (upper, calls) in counts)
        {
            bins[TargetWindow.BinOf(upper)] += calls;
        }
        return bins;
    }
}
