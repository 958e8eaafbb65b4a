using AspireBatch.Simulator.Apis;
using Microsoft.Extensions.Configuration.Memory;

namespace AspireBatch.Simulator;

/// <summary>Builds the simulator; tests host it in-process with <c>--urls http://127.0.0.1:0</c> and read <c>app.Urls</c> after StartAsync.</summary>
public static class SimulatorApp
{
    // Lowest-priority configuration, so the hot path stays quiet even where appsettings.json is not in the content
    // root (in-process hosting by tests); appsettings, environment and command line still override it.
    private static readonly Dictionary<string, string?> QuietDefaults = new()
    {
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
    };

    public static WebApplication Build(string[] args)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(SimulatorApp).Assembly.GetName().Name,
        });
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = QuietDefaults });

        builder.AddServiceDefaults();
        builder.AddSimulatorServices();

        var app = builder.Build();
        app.UseMiddleware<OpenAiGateMiddleware>();
        app.MapDefaultEndpoints();
        app.MapOpenAiApi();
        app.MapFilesApi();
        app.MapBatchApi();
        app.MapAdminApi();
        return app;
    }
}
