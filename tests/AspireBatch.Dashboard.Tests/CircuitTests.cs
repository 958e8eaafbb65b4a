using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Shared;
using AspireBatch.Dashboard.Formatting;
using MudBlazor;

namespace AspireBatch.Dashboard.Tests;

public sealed class CircuitTests : DashboardContext
{
    private static readonly DateTimeOffset Checked = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static ProviderHealthDto Health(string circuit, DateTimeOffset? openUntil = null, ProviderHealthCheck? check = null) =>
        new(Guid.NewGuid(), "openai", circuit, circuit == "open" ? 5 : 0, openUntil, check);

    [Fact]
    public void Closed_circuit_is_green()
    {
        var style = CircuitStyle.For(Health("closed"), TimeZoneInfo.Utc);
        Assert.Equal(Color.Success, style.Color);
        Assert.Equal("closed", style.Label);
    }

    [Fact]
    public void Open_circuit_is_red_with_its_reopening_time_in_the_operators_zone()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("UTC+02:00", TimeSpan.FromHours(2), "UTC+02:00", "UTC+02:00");
        var style = CircuitStyle.For(Health("open", new DateTimeOffset(2025, 6, 1, 12, 0, 30, TimeSpan.Zero)), zone);
        Assert.Equal(Color.Error, style.Color);
        Assert.Equal("open until 14:00:30", style.Label);
        Assert.Equal("open", CircuitStyle.For(Health("open"), zone).Label);
    }

    [Fact]
    public void Missing_health_reads_unknown()
    {
        Assert.Equal("unknown", CircuitStyle.For(null, TimeZoneInfo.Utc).Name);
    }

    [Fact]
    public void Chip_carries_the_test_id_and_state()
    {
        var chip = Render<CircuitChip>(p => p.Add(c => c.Health, Health("open", new DateTimeOffset(2025, 6, 1, 12, 0, 30, TimeSpan.Zero))));
        var element = chip.Find("[data-testid=provider-circuit]");
        Assert.Equal("open", element.GetAttribute("data-circuit"));
        Assert.Contains("open until 12:00:30", element.TextContent);
    }

    [Fact]
    public void Health_check_shows_state_latency_and_time()
    {
        var label = Render<HealthCheckLabel>(p => p.Add(c => c.Check, new ProviderHealthCheck(false, 503, 240, "Service Unavailable", Checked)));
        var check = label.Find("[data-testid=provider-check]");
        Assert.Equal("false", check.GetAttribute("data-healthy"));
        Assert.Contains("unhealthy", check.TextContent);
        Assert.Contains("(503)", check.TextContent);
        Assert.Contains("240 ms", check.TextContent);
        Assert.Equal("2025-06-01 12:00:00", label.Find("[data-testid=provider-check-time]").TextContent);
    }

    [Fact]
    public void Unchecked_provider_says_so()
    {
        var label = Render<HealthCheckLabel>(p => p.Add(c => c.Check, null));
        Assert.Equal("not checked yet", label.Find("[data-testid=provider-check]").TextContent);
    }
}
