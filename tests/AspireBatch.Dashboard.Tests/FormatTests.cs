using AspireBatch.Dashboard.Formatting;

namespace AspireBatch.Dashboard.Tests;

public sealed class FormatTests
{
    [Theory]
    [InlineData(0L, "0")]
    [InlineData(999L, "999")]
    [InlineData(1234567L, "1,234,567")]
    [InlineData(-4200L, "-4,200")]
    public void Numbers_have_thousands_separators(long value, string expected) => Assert.Equal(expected, Format.Number(value));

    [Theory]
    [InlineData("0", "$0.00")]
    [InlineData("1234.5", "$1,234.50")]
    [InlineData("1", "$1.00")]
    [InlineData("0.5", "$0.5000")]
    [InlineData("0.0123", "$0.0123")]
    [InlineData("0.000123", "$0.000123")]
    [InlineData("0.0000004", "$0.000000")]
    [InlineData("-2.5", "-$2.50")]
    public void Dollars_keep_small_amounts_visible(string value, string expected) =>
        Assert.Equal(expected, Format.Usd(decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void A_missing_amount_is_a_dash() => Assert.Equal("—", Format.Usd((decimal?)null));

    [Theory]
    [InlineData(0.4, "0s")]
    [InlineData(45, "45s")]
    [InlineData(192, "3m 12s")]
    [InlineData(3600, "1h 00m")]
    [InlineData(7530, "2h 05m")]
    [InlineData(3 * 86400 + 4 * 3600 + 59, "3d 4h")]
    [InlineData(-5, "0s")]
    public void Durations_read_like_people_say_them(double seconds, string expected) => Assert.Equal(expected, Format.Duration(seconds));

    [Fact]
    public void Unknown_or_infinite_durations_are_a_dash()
    {
        Assert.Equal("—", Format.Duration((double?)null));
        Assert.Equal("—", Format.Duration(double.PositiveInfinity));
        Assert.Equal("—", Format.Duration(double.NaN));
    }

    [Fact]
    public void Huge_durations_do_not_overflow() => Assert.EndsWith("h", Format.Duration(1e30));

    [Theory]
    [InlineData(239.6, "240 ms")]
    [InlineData(1234, "1.2 s")]
    [InlineData(double.NaN, "—")]
    public void Latency(double ms, string expected) => Assert.Equal(expected, Format.Latency(ms));

    [Theory]
    [InlineData(0.053, "5.3%")]
    [InlineData(1, "100.0%")]
    [InlineData(0, "0.0%")]
    public void Percent(double fraction, string expected) => Assert.Equal(expected, Format.Percent(fraction));

    [Theory]
    [InlineData(-0.42, "-42.0%")]
    [InlineData(0.1, "+10.0%")]
    [InlineData(0, "0.0%")]
    public void Change_is_signed(double fraction, string expected) => Assert.Equal(expected, Format.Change(fraction));

    [Theory]
    [InlineData(0, "—")]
    [InlineData(0.5, "30.0/min")]
    [InlineData(12.345, "12.3/s")]
    [InlineData(1234.4, "1,234/s")]
    public void Rates(double perSecond, string expected) => Assert.Equal(expected, Format.Rate(perSecond));

    [Theory]
    [InlineData(512L, "512 B")]
    [InlineData(2048L, "2.0 KB")]
    [InlineData(5L * 1024 * 1024, "5.0 MB")]
    [InlineData(3L * 1024 * 1024 * 1024, "3.00 GB")]
    public void Bytes(long bytes, string expected) => Assert.Equal(expected, Format.Bytes(bytes));

    [Fact]
    public void Times_show_in_the_operators_zone()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("test+2", TimeSpan.FromHours(2), "test+2", "test+2");
        var at = new DateTimeOffset(2025, 3, 1, 23, 30, 5, TimeSpan.Zero);
        Assert.Equal("2025-03-02 01:30:05", Format.Time(at, zone));
        Assert.Equal("2025-03-01 23:30:05", Format.Time(at, TimeZoneInfo.Utc));
        Assert.Equal("—", Format.Time((DateTimeOffset?)null, zone));
    }
}
