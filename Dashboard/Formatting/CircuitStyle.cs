using AspireBatch.Contracts;
using MudBlazor;

namespace AspireBatch.Dashboard.Formatting;

/// <summary>How a provider's circuit breaker looks in a chip: closed is green, open is red with the time it reopens in the operator's zone.</summary>
public sealed record CircuitStyle(Color Color, string Label, string Name)
{
    public static CircuitStyle For(ProviderHealthDto? health, TimeZoneInfo zone)
    {
        if (health is null)
        {
            return new(Color.Default, "unknown", "unknown");
        }
        if (string.Equals(health.Circuit, "open", StringComparison.OrdinalIgnoreCase))
        {
            return new(Color.Error, health.OpenUntil is { } until ? $"open until {Format.ClockTime(until, zone)}" : "open", "open");
        }
        if (string.Equals(health.Circuit, "closed", StringComparison.OrdinalIgnoreCase))
        {
            return new(Color.Success, "closed", "closed");
        }
        return new(Color.Warning, health.Circuit, health.Circuit.ToLowerInvariant());
    }
}
