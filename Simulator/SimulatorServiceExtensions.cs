using AspireBatch.Simulator.Services;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace AspireBatch.Simulator;

public static class SimulatorServiceExtensions
{
    public static IHostApplicationBuilder AddSimulatorServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<SimulatorOptions>()
            .BindConfiguration(SimulatorOptions.SectionName)
            .PostConfigure(options =>
            {
                if (options.Models.Length == 0)
                {
                    options.Models = [.. SimulatorOptions.DefaultModels];
                }
            })
            .ValidateDataAnnotations()
            .Validate(options => SimulatorRuntime.UnknownShapes(options, ResponseCorpus.Default) is null, "Simulator:CorpusShapes names an unknown corpus entry (GET /admin/corpus lists them).")
            .ValidateOnStart();

        builder.Services.AddProblemDetails();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(_ => ResponseCorpus.Default);
        builder.Services.AddSingleton<SimulatorRuntime>();
        builder.Services.AddSingleton<RateLimiter>();
        builder.Services.AddSingleton<SimulatorCounters>();
        builder.Services.AddSingleton<FileStore>();
        builder.Services.AddSingleton<BatchStore>();
        builder.Services.AddHostedService<BatchProcessor>();
        return builder;
    }
}
