using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Pages.Providers;
using AspireBatch.Dashboard.Formatting;
using AspireBatch.Dashboard.Infrastructure;
using AspireBatch.Dashboard.Live;
using Microsoft.Extensions.Logging.Abstractions;

namespace AspireBatch.Dashboard.Tests;

public sealed class InfrastructureTests
{
    [Theory]
    [InlineData("/jobs/123", "/jobs/123")]
    [InlineData(null, "/")]
    [InlineData("https://evil.example/", "/")]
    [InlineData("//evil.example/", "/")]
    [InlineData("/\\evil.example/", "/")]
    public void Only_local_return_urls_are_followed(string? returnUrl, string expected) =>
        Assert.Equal(expected, OperatorCredentials.SafeReturnUrl(returnUrl));

    [Theory]
    [InlineData(true, null, false, null)]
    [InlineData(true, "sk-new", false, "sk-new")]
    [InlineData(false, "", false, null)]
    [InlineData(false, "sk-new", false, "sk-new")]
    [InlineData(false, "ignored", true, "")]
    public void Provider_key_is_write_only(bool isNew, string? typed, bool remove, string? sent) =>
        Assert.Equal(sent, ProviderDialog.KeyToSend(isNew, typed, remove));

    [Fact]
    public void Live_events_parse_in_either_casing()
    {
        var jobId = Guid.NewGuid();
        var pascal = LiveUpdates.Parse($$"""{"Kind":"job","JobId":"{{jobId}}","RouteId":null,"At":"2025-01-01T00:00:00+00:00"}""");
        var camel = LiveUpdates.Parse($$"""{"kind":"job","jobId":"{{jobId}}","at":"2025-01-01T00:00:00+00:00"}""");
        Assert.Equal(jobId, pascal!.JobId);
        Assert.Equal(jobId, camel!.JobId);
        Assert.Null(LiveUpdates.Parse("not json"));
        Assert.Null(LiveUpdates.Parse(""));
    }

    [Fact]
    public async Task Subscribers_receive_events_until_they_unsubscribe()
    {
        var live = new LiveUpdates(NullLogger<LiveUpdates>.Instance);
        var received = new List<string>();
        var subscription = live.Subscribe(e => { received.Add(e.Kind); return Task.CompletedTask; });
        live.Subscribe(_ => throw new InvalidOperationException("a broken page"));
        await live.PublishAsync(new LiveEvent("job", Guid.NewGuid(), null, DateTimeOffset.UtcNow));
        subscription.Dispose();
        await live.PublishAsync(new LiveEvent("route", null, Guid.NewGuid(), DateTimeOffset.UtcNow));
        Assert.Equal(["job"], received);
        Assert.Equal(1, live.SubscriberCount);
    }

    [Fact]
    public void Browser_zone_is_found_by_name_or_offset()
    {
        Assert.Equal(TimeSpan.FromHours(1), BrowserClock.Resolve(new BrowserZone("Europe/Paris", -60)).GetUtcOffset(new DateTime(2025, 1, 15)));
        var byOffset = BrowserClock.Resolve(new BrowserZone("Nowhere/Unknown", 330));
        Assert.Equal(TimeSpan.FromMinutes(-330), byOffset.BaseUtcOffset);
        Assert.Equal("UTC-05:30", byOffset.Id);
        Assert.Equal(TimeZoneInfo.Utc, BrowserClock.Resolve(null));
    }
}
