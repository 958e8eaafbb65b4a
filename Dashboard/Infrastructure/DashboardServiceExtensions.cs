using AspireBatch.Dashboard.Api;
using AspireBatch.Dashboard.Components;
using AspireBatch.Dashboard.Formatting;
using AspireBatch.Dashboard.Live;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using MudBlazor;
using MudBlazor.Services;

namespace AspireBatch.Dashboard.Infrastructure;

public static class DashboardServiceExtensions
{
    public static void AddDashboardServices(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<ApiOptions>().BindConfiguration("Api").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<DashboardOptions>().BindConfiguration("Dashboard").ValidateDataAnnotations().ValidateOnStart();

        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddMudServices(config =>
        {
            config.SnackbarConfiguration.PositionClass = Defaults.Classes.Position.BottomRight;
            config.SnackbarConfiguration.VisibleStateDuration = 6000;
            config.SnackbarConfiguration.PreventDuplicates = false;
        });

        var authentication = builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme);
        authentication.AddCookie(options =>
            {
                options.LoginPath = "/login";
                options.LogoutPath = "/logout";
                // A signed-in person whose role does not reach a page.
                options.AccessDeniedPath = "/forbidden";
                options.Cookie.Name = "aspirebatch.operator";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Strict;
                // The cookie lives as long as the Api token it carries (12 hours); sliding it would outlive the token.
                options.ExpireTimeSpan = TimeSpan.FromHours(12);
                options.SlidingExpiration = false;
            });
        builder.AddSso(authentication);
        builder.Services.AddAuthorization();
        builder.Services.AddCascadingAuthenticationState();

        builder.Services.AddHttpContextAccessor();
        builder.Services.AddScoped<OperatorToken>();
        // Reads and idempotent changes keep the standard resilience, but unsafe methods are never retried:
        // a retried rollback would move a route two targets.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is the documented way to replace the defaults for one client.
        builder.Services.AddHttpClient<BatchApiClient>(ConfigureBaseAddress)
            .RemoveAllResilienceHandlers()
            .AddStandardResilienceHandler(options => options.Retry.DisableForUnsafeHttpMethods());
        // Uploads and exports stream for as long as the file takes: no retries, no timeouts but the caller's token.
        builder.Services.AddHttpClient(BatchApiClient.StreamingClientName, (services, client) =>
            {
                ConfigureBaseAddress(services, client);
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001

        builder.AddResilientRedisClient("redis");
        builder.Services.AddSingleton<LiveUpdates>();
        builder.Services.AddHostedService<LiveUpdatesSubscriber>();
        builder.Services.AddScoped<BrowserClock>();
    }

    public static void UseDashboardDefaults(this WebApplication app)
    {
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/error", createScopeForErrors: true);
        }
        app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
    }

    public static void MapDashboardComponents(this WebApplication app)
    {
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
    }

    private static void ConfigureBaseAddress(IServiceProvider services, HttpClient client) =>
        client.BaseAddress = services.GetRequiredService<IOptions<ApiOptions>>().Value.BaseAddress;
}
