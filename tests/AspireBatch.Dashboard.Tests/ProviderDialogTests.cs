using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Pages.Providers;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;

namespace AspireBatch.Dashboard.Tests;

/// <summary>The provider dialog declares native batch support and its discount, as the Api takes them.</summary>
public sealed class ProviderDialogTests : DashboardContext
{
    private static readonly Guid ProviderId = Guid.Parse("019ad9b0-0000-7000-8000-000000000001");

    [Fact]
    public async Task An_edit_shows_and_sends_the_providers_native_batch_settings()
    {
        ProviderRequest? sent = null;
        var existing = new ProviderDto(ProviderId, "openai", "https://api.openai.com/v1", true, "9f3c", 30, 10, null, null, null, true, [],
            DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, SupportsNativeBatch: true, BatchDiscountPercent: 40m);
        new StubApi().Answer($"/api/providers/{ProviderId}", request =>
        {
            sent = JsonSerializer.Deserialize<ProviderRequest>(request.Content!.ReadAsStringAsync().Result, JsonSerializerOptions.Web);
            return existing;
        }).Use(Services);
        var provider = Render<MudDialogProvider>();
        var dialogs = Services.GetRequiredService<IDialogService>();
        await provider.InvokeAsync(() => dialogs.ShowAsync<ProviderDialog>("Edit provider", new DialogParameters<ProviderDialog> { { d => d.Existing, existing } }));

        Assert.Equal("40", provider.Find("[data-testid=provider-batch-discount]").GetAttribute("value"));
        provider.Find("[data-testid=provider-save]").Click();
        provider.WaitForAssertion(() => Assert.NotNull(sent));
        Assert.Equal((true, 40m), (sent!.SupportsNativeBatch, sent.BatchDiscountPercent));
    }
}
