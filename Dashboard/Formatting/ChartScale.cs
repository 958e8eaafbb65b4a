namespace AspireBatch.Dashboard.Formatting;

/// <summary>
/// MudChart ticks its Y axis in whole steps (YAxisTicks is an int): values below a few units would sit under one tick.
/// This picks a unit that makes the largest value at least 5 and a 1-2-5 step that gives about five ticks.
/// </summary>
public sealed record ChartScale(double Factor, string Unit, int Step)
{
    public static ChartScale ForUsd(double max) => max switch
    {
        >= 5 or <= 0 => new(1, "USD", NiceStep(max)),
        >= 0.05 => new(100, "US cents", NiceStep(max * 100)),
        >= 0.00005 => new(100_000, "thousandths of a cent", NiceStep(max * 100_000)),
        _ => new(100_000_000, "millionths of a cent", NiceStep(max * 100_000_000)),
    };

    public static ChartScale ForCount(double max, string unit) => new(1, unit, NiceStep(max));

    public double[] Apply(IEnumerable<double> values) => values.Select(v => Math.Round(v * Factor, 2)).ToArray();

    /// <summary>1, 2 or 5 times a power of ten, so that max / step is about five; never below 1.</summary>
    public static int NiceStep(double max, int ticks = 5)
    {
        if (!double.IsFinite(max) || max <= ticks)
        {
            return 1;
        }
        var raw = max / ticks;
        var power = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = (raw / power) switch { <= 1 => 1, <= 2 => 2, <= 5 => 5, _ => 10 } * power;
        return (int)Math.Min(step, int.MaxValue / 2);
    }
}
