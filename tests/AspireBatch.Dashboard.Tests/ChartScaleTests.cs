using AspireBatch.Dashboard.Formatting;

namespace AspireBatch.Dashboard.Tests;

public sealed class ChartScaleTests
{
    [Theory]
    [InlineData(0, 1)]
    [InlineData(4, 1)]
    [InlineData(12, 5)]
    [InlineData(37, 10)]
    [InlineData(640, 200)]
    [InlineData(1_234_567, 500_000)]
    [InlineData(double.NaN, 1)]
    public void Steps_are_1_2_5_and_give_about_five_ticks(double max, int step) => Assert.Equal(step, ChartScale.NiceStep(max));

    [Theory]
    [InlineData(1234.5, 1, "USD")]
    [InlineData(1.23, 100, "US cents")]
    [InlineData(0.0042, 100_000, "thousandths of a cent")]
    [InlineData(0.0000004, 100_000_000, "millionths of a cent")]
    [InlineData(0, 1, "USD")]
    public void Small_costs_are_charted_in_a_smaller_unit(double max, double factor, string unit)
    {
        var scale = ChartScale.ForUsd(max);
        Assert.Equal(factor, scale.Factor);
        Assert.Equal(unit, scale.Unit);
        Assert.True(max == 0 || max * scale.Factor >= 5);
    }

    [Fact]
    public void Apply_scales_every_value() => Assert.Equal([123, 50], ChartScale.ForUsd(1.23).Apply([1.23, 0.5]));
}
