using AspireBatch.Data;
using AspireBatch.Worker.Execution;

namespace AspireBatch.Worker;

internal static class WorkerServiceExtensions
{
    public static void AddWorkerServices(this WebApplicationBuilder builder)
    {
        builder.AddBatchData();
        builder.AddRedisClient("redis");
        builder.Services.AddOptions<WorkerOptions>().BindConfiguration("Worker").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<WorkerTelemetry>();
        builder.Services.AddSingleton<ItemStore>();
        builder.Services.AddSingleton<TargetDirectory>();
        builder.Services.AddSingleton<JobDirectory>();
        builder.Services.AddSingleton<ModelCaller>();
        builder.Services.AddSingleton<ResultWriter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ResultWriter>());
        builder.Services.AddHostedService<ExecutionEngine>();
        builder.Services.AddSingleton<LeaseKeeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LeaseKeeper>());
    }
}
