using AspireBatch.Contracts;
using AspireBatch.Data.Entities;
using AspireBatch.Data.Live;
using AspireBatch.Worker.Execution;

namespace AspireBatch.UnitTests;

/// <summary>Canary by weight: the draw of a record's first target and the chain that follows it.</summary>
public sealed class WeightedChainTests
{
    private static List<ChainCandidate<string>> Targets(params int[] weights) =>
        weights.Select((w, i) => new ChainCandidate<string>(i, w, $"t{i}")).ToList();

    [Fact]
    public void Without_weights_the_chain_is_the_active_target_then_the_ones_after_it()
    {
        Assert.Equal(["t0", "t1", "t2"], WeightedChain.Compose(Targets(0, 0, 0), activePosition: 0, itemId: 42));
        Assert.Equal(["t1", "t2"], WeightedChain.Compose(Targets(0, 0, 0), activePosition: 1, itemId: 42));
    }

    [Fact]
    public void The_same_record_always_draws_the_same_target()
    {
        var weights = new[] { 90, 10 };
        for (long id = 1; id < 500; id++)
        {
            Assert.Equal(WeightedChain.Draw(weights, id), WeightedChain.Draw(weights, id));
        }
    }

    [Theory]
    [InlineData(90, 10)]
    [InlineData(50, 50)]
    [InlineData(1, 999)]
    [InlineData(700, 200, 100)]
    public void Consecutive_ids_split_by_weight(params int[] weights)
    {
        const int records = 100_000;
        var counts = new int[weights.Length];
        // Item ids come from a sequence: consecutive ids are the real case.
        for (long id = 1_000_000; id < 1_000_000 + records; id++)
        {
            counts[WeightedChain.Draw(weights, id)]++;
        }
        var total = weights.Sum();
        for (var i = 0; i < weights.Length; i++)
        {
            Assert.InRange(counts[i] / (double)records, weights[i] / (double)total - 0.01, weights[i] / (double)total + 0.01);
        }
    }

    [Fact]
    public void A_target_without_weight_is_never_drawn_first()
    {
        for (long id = 0; id < 2_000; id++)
        {
            Assert.NotEqual(1, WeightedChain.Draw([30, 0, 70], id));
        }
    }

    [Fact]
    public void The_drawn_target_goes_first_and_the_others_follow_in_position_order()
    {
        var candidates = Targets(90, 0, 10);
        var seen = new HashSet<string>();
        for (long id = 0; id < 200; id++)
        {
            var chain = WeightedChain.Compose(candidates, activePosition: 0, itemId: id);
            seen.Add(string.Join(",", chain));
        }
        // The canary first, then the active target and the fallback; or the usual order.
        Assert.Equal(["t0,t1,t2", "t2,t0,t1"], seen.Order());
    }

    [Fact]
    public void Targets_before_the_active_one_take_no_part_even_with_a_weight()
    {
        // After a rollback to #1 the old primary (weight 90) gets nothing; #1 and #2 split 10/10.
        var seen = Enumerable.Range(0, 200).Select(id => string.Join(",", WeightedChain.Compose(Targets(90, 10, 10), 1, id))).ToHashSet();
        Assert.Equal(["t1,t2", "t2,t1"], seen.Order());
    }

    [Fact]
    public void A_stopped_canary_is_only_a_fallback_again()
    {
        var chains = Enumerable.Range(0, 500).Select(id => string.Join(",", WeightedChain.Compose(Targets(90, 0), 0, id))).ToHashSet();
        Assert.Equal(["t0,t1"], chains);
    }

    [Fact]
    public void The_chain_keeps_the_targets_real_positions_when_one_is_missing()
    {
        // A disabled provider's target is not a candidate: the draw is among those left and positions stay the route's.
        var candidates = new List<ChainCandidate<int>> { new(0, 90, 0), new(2, 10, 2) };
        var chains = Enumerable.Range(0, 300).Select(id => string.Join(",", WeightedChain.Compose(candidates, 0, id))).ToHashSet();
        Assert.Equal(["0,2", "2,0"], chains.Order());
    }

    [Fact]
    public void A_canary_is_judged_on_its_own_thresholds_and_the_routes_for_the_rest()
    {
        var route = new Route { Name = "r", MaxErrorRate = 0.05, MaxMeanLatencyMs = 500, MinSuccessRate = 0.95, MinCalls = 7 };
        var canary = new RouteTarget { ModelName = "m", Position = 1, Weight = 10, MaxErrorRate = 0.01 };
        var thresholds = RouteJudge.ThresholdsOf(route, canary);
        Assert.Equal(new RouteThresholds(0.01, 500, 0.95, 300, 30, 7), thresholds);
        // 2 errors in 100 calls is fine for the route, a breach for this canary.
        Assert.NotNull(RouteJudge.Breach(new WindowFigures(100, 2, 100, 100, 300), thresholds));
        Assert.Null(RouteJudge.Breach(new WindowFigures(100, 2, 100, 100, 300), RouteJudge.ThresholdsOf(route)));
    }

    [Fact]
    public void Canaries_are_the_weighted_targets_after_the_active_one()
    {
        var route = new Route
        {
            Name = "r", ActiveTargetPosition = 1,
            Targets =
            [
                new RouteTarget { ModelName = "a", Position = 0, Weight = 50 },
                new RouteTarget { ModelName = "b", Position = 1, Weight = 40 },
                new RouteTarget { ModelName = "c", Position = 2, Weight = 10 },
                new RouteTarget { ModelName = "d", Position = 3 },
            ],
        };
        Assert.Equal(["c"], RouteJudge.Canaries(route).Select(t => t.ModelName));
        Assert.True(RouteJudge.IsWeighted(route));
        Assert.Equal([RouteTargetRole.Earlier, RouteTargetRole.Active, RouteTargetRole.Canary, RouteTargetRole.Fallback],
            route.Targets.Select(t => RouteJudge.RoleOf(route, t)));
    }

    [Fact]
    public void An_operators_weight_changes_are_recorded_one_per_target()
    {
        var p = Guid.NewGuid();
        var q = Guid.NewGuid();
        WeightedTarget[] before = [new(0, p, "p/m", 90), new(1, q, "q/m", 10)];
        var now = DateTimeOffset.UtcNow;

        Assert.Empty(RouteSwitcher.WeightChanges(Guid.Empty, before, 0, before, 0, now));

        var stopped = Assert.Single(RouteSwitcher.WeightChanges(Guid.Empty, before, 0, [new(0, p, "p/m", 90), new(1, q, "q/m", 0)], 0, now));
        Assert.Equal((RouteEventKind.CanaryStopped, 1, 0, "q/m", "p/m", false), (stopped.Kind, stopped.FromPosition, stopped.ToPosition, stopped.FromTarget, stopped.ToTarget, stopped.Automatic));

        var raised = RouteSwitcher.WeightChanges(Guid.Empty, before, 0, [new(0, p, "p/m", 80), new(1, q, "q/m", 20)], 0, now);
        Assert.Equal([RouteEventKind.Reweighted, RouteEventKind.Reweighted], raised.Select(e => e.Kind));
        Assert.Contains("10 → 20", raised[1].Reason);

        // Reordered, same weights: nothing changed.
        Assert.Empty(RouteSwitcher.WeightChanges(Guid.Empty, before, 0, [new(0, q, "q/m", 10), new(1, p, "p/m", 90)], 0, now));
    }
}
