using Microsoft.JSInterop;

namespace AspireBatch.Dashboard.Formatting;

/// <summary>
/// The operator's time zone, asked once per circuit from the browser's Intl API. Until it answers, times show in UTC.
/// </summary>
public sealed class BrowserClock
{
    public TimeZoneInfo Zone { get; private set; } = TimeZoneInfo.Utc;
    public bool Known { get; private set; }
    public event Action? Changed;

    public string Show(DateTimeOffset value) => Format.Time(value, Zone);
    public string Show(DateTimeOffset? value) => Format.Time(value, Zone);

    public async Task InitializeAsync(IJSRuntime js, CancellationToken cancellationToken)
    {
        if (Known)
        {
            return;
        }
        try
        {
            var info = await js.InvokeAsync<BrowserZone>("aspireBatch.timeZone", cancellationToken);
            Zone = Resolve(info);
            Known = true;
            Changed?.Invoke();
        }
        catch (Exception e) when (e is JSException or JSDisconnectedException or InvalidOperationException or TaskCanceledException)
        {
            // Stay on UTC: every time is still labelled correctly by the zone it is shown in.
        }
    }

    public static TimeZoneInfo Resolve(BrowserZone? info)
    {
        if (info?.Name is { Length: > 0 } name && TimeZoneInfo.TryFindSystemTimeZoneById(name, out var zone))
        {
            return zone;
        }
        if (info is { OffsetMinutes: var minutes } && minutes != 0)
        {
            // getTimezoneOffset() is UTC minus local time.
            var offset = TimeSpan.FromMinutes(-minutes);
            var label = $"UTC{(offset < TimeSpan.Zero ? "-" : "+")}{offset.Duration():hh\\:mm}";
            return TimeZoneInfo.CreateCustomTimeZone(label, offset, label, label);
        }
        return TimeZoneInfo.Utc;
    }
}

public sealed record BrowserZone(string? Name, int OffsetMinutes);
