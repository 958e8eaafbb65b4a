using AspireBatch.Data;
using AspireBatch.Worker.Execution;
using AspireBatch.Worker.Limits;
using AspireBatch.Worker.Monitoring;
using AspireBatch.Worker.NativeBatch;
using AspireBatch.Worker.Retention;

namespace AspireBatch.Worker;

internal static class WorkerServiceExtensions
{
    public static void AddWorkerServices(this WebApplicationBuilder builder)
    {
        builder.AddBatchData();
        builder.AddLiveState();
        builder.Services.AddOptions<WorkerOptions>().BindConfiguration("Worker").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<WorkerTelemetry>();
        builder.Services.AddSingleton<ItemStore>();
        builder.Services.AddSingleton<TargetDirectory>();
        builder.Services.AddSingleton<JobDirectory>();
        builder.Services.AddSingleton<SharedRateLimiter>();
        builder.Services.AddHealthChecks().AddCheck<RateLimitHealthCheck>("rate-limits");
        builder.Services.AddSingleton<ConcurrencyGate>();
        builder.Services.AddSingleton<LiveLimits>();
        builder.Services.AddSingleton<ProviderGuard>();
        builder.Services.AddSingleton<ModelCaller>();
        // Hosted services stop in reverse order: monitors, engine, journal, result writer, then lease keeper, so leases
        // are renewed while calls in flight finish at shutdown.
        builder.Services.AddSingleton<LeaseKeeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<LeaseKeeper>());
        builder.Services.AddSingleton<ResultWriter>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ResultWriter>());
        builder.Services.AddSingleton<ProviderClient>();
        // Before the engine, so it stops after it: calls still in flight at shutdown need their marks written.
        builder.Services.AddSingleton<CallJournal>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<CallJournal>());
        builder.Services.AddHostedService<ExecutionEngine>();
        // Provider-native batches: packing, upload, create, poll and results, each stage stored before the next.
        builder.Services.AddOptions<NativeBatchOptions>().BindConfiguration(NativeBatchOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<NativeBatchPlanner>();
        builder.Services.AddSingleton<ProviderBatchClient>();
        builder.Services.AddHostedService<NativeBatchEngine>();
        builder.Services.AddSingleton<LeaderLock>();
        builder.Services.AddHostedService<RouteMonitor>();
        builder.Services.AddHostedService<ProviderHealthMonitor>();
        // Expired files and the jobs teams' retention policies no longer keep.
        builder.Services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddHostedService<RetentionSweeper>();
        builder.AddModelListProbe();
    }
}
