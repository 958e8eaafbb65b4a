using System.Globalization;

namespace AspireBatch.Dashboard.Formatting;

/// <summary>Numbers as operators read them: thousands separators, dollars with enough decimals to see small costs, short durations.</summary>
public static class Format
{
    private static readonly CultureInfo Culture = CultureInfo.InvariantCulture;

    public static string Number(long value) => value.ToString("N0", Culture);

    public static string Number(double value, int decimals = 0) => value.ToString("N" + decimals, Culture);

    /// <summary>$1,234.56 for amounts of a dollar or more, 4 decimals down to a cent, 6 below that, so a fraction of a cent never shows as $0.00.</summary>
    public static string Usd(decimal value)
    {
        var abs = Math.Abs(value);
        var decimals = abs == 0 || abs >= 1 ? 2 : abs >= 0.01m ? 4 : 6;
        var text = abs.ToString("N" + decimals, Culture);
        return value < 0 ? $"-${text}" : $"${text}";
    }

    public static string Usd(decimal? value) => value is { } v ? Usd(v) : "—";

    /// <summary>"45s", "3m 12s", "2h 05m", "3d 4h"; under a second reads "0s".</summary>
    public static string Duration(TimeSpan value)
    {
        if (value < TimeSpan.Zero)
        {
            value = TimeSpan.Zero;
        }
        if (value.TotalMinutes < 1)
        {
            return $"{(int)value.TotalSeconds}s";
        }
        if (value.TotalHours < 1)
        {
            return $"{value.Minutes}m {value.Seconds:00}s";
        }
        if (value.TotalDays < 1)
        {
            return $"{(int)value.TotalHours}h {value.Minutes:00}m";
        }
        return $"{(int)value.TotalDays}d {value.Hours}h";
    }

    public static string Duration(double? seconds) =>
        seconds is { } s && double.IsFinite(s) ? Duration(TimeSpan.FromSeconds(Math.Min(s, TimeSpan.MaxValue.TotalSeconds / 2))) : "—";

    /// <summary>Latency: "240 ms" under a second, "1.2 s" above.</summary>
    public static string Latency(double milliseconds) =>
        !double.IsFinite(milliseconds) ? "—"
        : milliseconds < 1000 ? $"{Math.Round(milliseconds).ToString("N0", Culture)} ms"
        : $"{(milliseconds / 1000).ToString("N1", Culture)} s";

    /// <summary>A fraction (0.053) as "5.3%".</summary>
    public static string Percent(double fraction, int decimals = 1) =>
        double.IsFinite(fraction) ? (fraction * 100).ToString("N" + decimals, Culture) + "%" : "—";

    /// <summary>A signed change (-0.42) as "-42.0%", with a plus for increases.</summary>
    public static string Change(double fraction) =>
        !double.IsFinite(fraction) ? "—" : (fraction > 0 ? "+" : "") + (fraction * 100).ToString("N1", Culture) + "%";

    /// <summary>Items per second: "12.3/s", "1,234/s"; below one a second, per minute.</summary>
    public static string Rate(double perSecond) =>
        !double.IsFinite(perSecond) || perSecond <= 0 ? "—"
        : perSecond >= 100 ? $"{perSecond.ToString("N0", Culture)}/s"
        : perSecond >= 1 ? $"{perSecond.ToString("N1", Culture)}/s"
        : $"{(perSecond * 60).ToString("N1", Culture)}/min";

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => $"{(bytes / 1024.0).ToString("N1", Culture)} KB",
        < 1024L * 1024 * 1024 => $"{(bytes / (1024.0 * 1024)).ToString("N1", Culture)} MB",
        _ => $"{(bytes / (1024.0 * 1024 * 1024)).ToString("N2", Culture)} GB",
    };

    /// <summary>A time in the operator's zone, "2025-03-01 14:05:09".</summary>
    public static string Time(DateTimeOffset value, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(value, zone).ToString("yyyy-MM-dd HH:mm:ss", Culture);

    public static string Time(DateTimeOffset? value, TimeZoneInfo zone) => value is { } v ? Time(v, zone) : "—";

    /// <summary>Just the clock time in the operator's zone, "14:05:09".</summary>
    public static string ClockTime(DateTimeOffset value, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(value, zone).ToString("HH:mm:ss", Culture);
}
