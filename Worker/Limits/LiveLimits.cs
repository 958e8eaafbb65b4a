using AspireBatch.Worker.Execution;

namespace AspireBatch.Worker.Limits;

/// <summary>
/// The catalog's targets and the running jobs as last loaded, for their limits. Calls already waiting for a slot read
/// them at every look, so a raised or lowered limit applies within seconds instead of after every waiting call has
/// gone through at the one it started with.
/// </summary>
public sealed class LiveLimits
{
    private volatile IReadOnlyDictionary<(Guid Provider, string Model), CallTarget> _targets = new Dictionary<(Guid, string), CallTarget>();
    private volatile IReadOnlyDictionary<Guid, RunningJob> _jobs = new Dictionary<Guid, RunningJob>();

    public void SetTargets(IReadOnlyDictionary<(Guid Provider, string Model), CallTarget> targets) => _targets = targets;

    public void SetJobs(IReadOnlyDictionary<Guid, RunningJob> jobs) => _jobs = jobs;

    /// <summary>The target as the catalog has it now; the caller's copy until the catalog has been read.</summary>
    public CallTarget Current(CallTarget target) => _targets.GetValueOrDefault((target.ProviderId, target.Model), target);

    /// <summary>The job as last loaded; the caller's copy when it is not running here (any more).</summary>
    public RunningJob Current(RunningJob job) => _jobs.GetValueOrDefault(job.Id, job);
}
