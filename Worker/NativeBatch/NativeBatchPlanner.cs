using AspireBatch.Contracts;
using AspireBatch.Worker.Execution;
using Microsoft.Extensions.Options;

namespace AspireBatch.Worker.NativeBatch;

/// <summary>
/// Decides, per job, where its pending records go now: to a provider batch (provider-batch mode, or auto mode before
/// its cutoff, the deadline less <see cref="NativeBatchOptions.RealtimeReserveSeconds"/>) or to real-time calls
/// (realtime mode, auto mode past the cutoff, or a job whose active target has no native batches).
/// </summary>
public sealed class NativeBatchPlanner(TargetDirectory targets, IOptions<NativeBatchOptions> options, TimeProvider time)
{
    public TimeSpan RealtimeReserve => TimeSpan.FromSeconds(options.Value.RealtimeReserveSeconds);

    /// <summary>The target a batch goes to: the job's active target when its provider sells native batches.</summary>
    public async Task<CallTarget?> BatchTargetAsync(RunningJob job, CancellationToken cancellationToken)
    {
        if (job.Mode == JobMode.Realtime)
        {
            return null;
        }
        var chain = await targets.ChainAsync(job.RouteId, job.ProviderId, job.ModelName, 0, cancellationToken);
        return chain.FirstOrDefault() is { SupportsNativeBatch: true } target ? target : null;
    }

    /// <summary>When an auto job stops packing and its open batches are cancelled; null for other modes.</summary>
    public DateTimeOffset? Cutoff(RunningJob job) => job.Mode == JobMode.Auto && job.Deadline is { } deadline ? deadline - RealtimeReserve : null;

    public bool BatchAllowed(RunningJob job) =>
        job.Mode == JobMode.ProviderBatch || (job.Mode == JobMode.Auto && (Cutoff(job) is not { } cutoff || time.GetUtcNow() < cutoff));

    /// <summary>
    /// Whether real-time workers may claim the job's pending records. A provider-batch job whose target lost its native
    /// batches runs in real time rather than waiting forever (the job page shows what each record was charged).
    /// </summary>
    public async Task<bool> RealtimeAllowedAsync(RunningJob job, CancellationToken cancellationToken) =>
        job.Mode == JobMode.Realtime || !BatchAllowed(job) || await BatchTargetAsync(job, cancellationToken) is null;
}
