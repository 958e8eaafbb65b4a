using AspireBatch.Contracts;
using AspireBatch.Data.Live;

namespace AspireBatch.UnitTests;

/// <summary>
/// The playbook's rollback rules (error rate > 5 %, mean latency > 500 ms, success rate < 95 %, at least 20 calls):
/// every comparison is strict, so a target exactly at a threshold stays.
/// </summary>
public sealed class RouteJudgeTests
{
    private static readonly RouteThresholds Defaults = new();

    [Fact]
    public void The_defaults_are_the_playbooks()
    {
        Assert.Equal((0.05, 500, 0.95, 20), (Defaults.MaxErrorRate, Defaults.MaxMeanLatencyMs, Defaults.MinSuccessRate, Defaults.MinCalls));
    }

    [Fact]
    public void A_healthy_window_breaches_nothing()
    {
        Assert.Null(RouteJudge.Breach(Figures(calls: 100, errors: 2, meanMs: 180), Defaults));
    }

    [Fact]
    public void A_window_without_calls_is_never_judged_a_breach()
    {
        Assert.Null(RouteJudge.Breach(Figures(calls: 0, errors: 0, meanMs: 10_000), new RouteThresholds(MaxErrorRate: 0, MaxMeanLatencyMs: 1, MinSuccessRate: 1)));
    }

    // --- Error rate > 5 % ---

    [Theory]
    [InlineData(1, 20)]
    [InlineData(5, 100)]
    [InlineData(50, 1_000)]
    [InlineData(7, 140)]
    [InlineData(3_333, 66_660)]
    public void An_error_rate_of_exactly_5_percent_is_no_breach(long errors, long calls)
    {
        Assert.Null(RouteJudge.Breach(Figures(calls, errors, meanMs: 100), Defaults));
    }

    [Theory]
    [InlineData(2, 20, "error rate 10.0 % > 5.0 %")]
    [InlineData(51, 1_000, "error rate 5.1 % > 5.0 %")]
    [InlineData(20, 20, "error rate 100.0 % > 5.0 %")]
    public void An_error_rate_above_5_percent_is_a_breach(long errors, long calls, string breach)
    {
        Assert.Equal(breach, RouteJudge.Breach(Figures(calls, errors, meanMs: 100), Defaults));
    }

    [Fact]
    public void Every_error_count_up_to_5_percent_passes_and_every_one_above_fails_for_windows_up_to_2000_calls()
    {
        for (long calls = 1; calls <= 2_000; calls++)
        {
            for (long errors = 0; errors <= Math.Min(calls, calls / 20 + 2); errors++)
            {
                var breach = RouteJudge.Breach(Figures(calls, errors, meanMs: 100), Defaults);
                Assert.True((breach is not null) == (errors * 20 > calls), $"{errors} errors in {calls} calls: {breach ?? "no breach"}");
            }
        }
    }

    // --- Mean latency > 500 ms ---

    [Theory]
    [InlineData(500.0, null)]
    [InlineData(499.9, null)]
    [InlineData(500.6, "mean latency 501 ms > 500 ms")]
    [InlineData(1_234.0, "mean latency 1234 ms > 500 ms")]
    public void The_mean_latency_breaches_only_above_500_ms(double meanMs, string? breach)
    {
        Assert.Equal(breach, RouteJudge.Breach(Figures(calls: 100, errors: 0, meanMs), Defaults));
    }

    [Fact]
    public void The_mean_not_the_p95_is_judged()
    {
        Assert.Null(RouteJudge.Breach(new WindowFigures(100, 0, MeanLatencyMs: 200, P95LatencyMs: 30_000, WindowSeconds: 300), Defaults));
    }

    [Fact]
    public void A_routes_own_latency_threshold_applies()
    {
        var thresholds = new RouteThresholds(MaxMeanLatencyMs: 1_000);
        Assert.Null(RouteJudge.Breach(Figures(100, 0, meanMs: 1_000), thresholds));
        Assert.Equal("mean latency 1001 ms > 1000 ms", RouteJudge.Breach(Figures(100, 0, meanMs: 1_001), thresholds));
    }

    // --- Success rate < 95 % (judged on its own when the error rate is not limited) ---

    [Theory]
    [InlineData(1, 20)]
    [InlineData(5, 100)]
    [InlineData(50, 1_000)]
    public void A_success_rate_of_exactly_95_percent_is_no_breach(long errors, long calls)
    {
        Assert.Null(RouteJudge.Breach(Figures(calls, errors, meanMs: 100), SuccessOnly(0.95)));
    }

    [Theory]
    [InlineData(2, 20, "success rate 90.0 % < 95.0 %")]
    [InlineData(51, 1_000, "success rate 94.9 % < 95.0 %")]
    public void A_success_rate_below_95_percent_is_a_breach(long errors, long calls, string breach)
    {
        Assert.Equal(breach, RouteJudge.Breach(Figures(calls, errors, meanMs: 100), SuccessOnly(0.95)));
    }

    [Theory]
    [InlineData(0.99)]
    [InlineData(0.95)]
    [InlineData(0.93)]
    [InlineData(0.9)]
    [InlineData(0.8)]
    [InlineData(0.7)]
    [InlineData(0.5)]
    [InlineData(0.2)]
    [InlineData(0.1)]
    public void A_success_rate_exactly_at_the_routes_threshold_is_no_breach(double minSuccessRate)
    {
        // 93 of 100 is 0.93 exactly; 1 - 7/100 in doubles is 0.9299999999999999, which would roll back at the threshold.
        var thresholds = SuccessOnly(minSuccessRate);
        for (long calls = 100; calls <= 2_000; calls += 100)
        {
            var successes = (long)Math.Round(calls * minSuccessRate);
            var figures = Figures(calls, calls - successes, meanMs: 100);
            Assert.Equal(minSuccessRate, figures.SuccessRate);
            Assert.Null(RouteJudge.Breach(figures, thresholds));
            Assert.NotNull(RouteJudge.Breach(Figures(calls, calls - successes + 1, meanMs: 100), thresholds));
        }
    }

    // --- Order and wording ---

    [Fact]
    public void The_first_threshold_crossed_is_named_error_rate_then_latency_then_success_rate()
    {
        var all = new RouteThresholds(MaxErrorRate: 0.05, MaxMeanLatencyMs: 500, MinSuccessRate: 0.99);
        Assert.StartsWith("error rate", RouteJudge.Breach(Figures(100, 10, meanMs: 900), all));
        Assert.StartsWith("mean latency", RouteJudge.Breach(Figures(100, 3, meanMs: 900), all));
        Assert.StartsWith("success rate", RouteJudge.Breach(Figures(100, 3, meanMs: 100), all));
    }

    [Fact]
    public void The_wording_does_not_depend_on_the_current_culture()
    {
        var culture = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            Assert.Equal("error rate 12.5 % > 5.0 %", RouteJudge.Breach(Figures(8, 1, meanMs: 100), Defaults));
            Assert.Equal("mean latency 1235 ms > 500 ms", RouteJudge.Breach(Figures(100, 0, meanMs: 1_234.5), Defaults));
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = culture;
        }
    }

    // --- Min calls ---

    [Theory]
    [InlineData(0, 20, false)]
    [InlineData(19, 20, false)]
    [InlineData(20, 20, true)]
    [InlineData(21, 20, true)]
    [InlineData(1, 1, true)]
    [InlineData(4, 5, false)]
    public void A_window_is_judged_from_min_calls_on(long calls, int minCalls, bool judged)
    {
        Assert.Equal(judged, RouteJudge.HasEnoughCalls(Figures(calls, calls, meanMs: 9_000), new RouteThresholds(MinCalls: minCalls)));
    }

    // --- The window's rates ---

    [Theory]
    [InlineData(0, 0, 0.0, 1.0)]
    [InlineData(20, 1, 0.05, 0.95)]
    [InlineData(100, 7, 0.07, 0.93)]
    [InlineData(3, 3, 1.0, 0.0)]
    [InlineData(3, 0, 0.0, 1.0)]
    public void Rates_come_from_the_counts(long calls, long errors, double errorRate, double successRate)
    {
        var figures = Figures(calls, errors, meanMs: 0);
        Assert.Equal(errorRate, figures.ErrorRate);
        Assert.Equal(successRate, figures.SuccessRate);
    }

    private static RouteThresholds SuccessOnly(double minSuccessRate) => new(MaxErrorRate: 1, MaxMeanLatencyMs: double.MaxValue, MinSuccessRate: minSuccessRate);

    private static WindowFigures Figures(long calls, long errors, double meanMs) => new(calls, errors, meanMs, meanMs, 300);
}
