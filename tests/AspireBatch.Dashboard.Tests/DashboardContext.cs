using AspireBatch.Dashboard.Formatting;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace AspireBatch.Dashboard.Tests;

/// <summary>A bUnit context with MudBlazor's services, loose JS interop and the Dashboard's per-circuit clock.</summary>
public abstract class DashboardContext : BunitContext
{
    protected DashboardContext()
    {
        JSInterop.Mode = JSRuntimeMode.Loose;
        Services.AddMudServices();
        Services.AddScoped<BrowserClock>();
    }
}
