using AspireBatch.Worker.Execution;

namespace AspireBatch.Worker.Limits;

/// <summary>A target's limits as last read from the catalog: its provider's, and its model's own on top.</summary>
public sealed record TargetLimits(int? RequestsPerMinute, int? TokensPerMinute, int? MaxConcurrency, int? ModelRequestsPerMinute, int? ModelTokensPerMinute);

/// <summary>
/// The limits in force now, replaced whenever the directories reload. Calls already waiting for a slot read them at
/// every look, so a raised or lowered limit applies within seconds instead of after every waiting call has gone
/// through at the old one.
/// </summary>
public sealed class LiveLimits
{
    private volatile IReadOnlyDictionary<(Guid Provider, string Model), TargetLimits> _targets = new Dictionary<(Guid, string), TargetLimits>();
    private volatile IReadOnlyDictionary<Guid, int?> _jobCaps = new Dictionary<Guid, int?>();

    public void SetTargets(IReadOnlyDictionary<(Guid Provider, string Model), TargetLimits> targets) => _targets = targets;

    public void SetJobCaps(IReadOnlyDictionary<Guid, int?> caps) => _jobCaps = caps;

    /// <summary>The catalog's limits for the target; the target's own copy until the catalog has been read.</summary>
    public TargetLimits Of(CallTarget target) => _targets.TryGetValue((target.ProviderId, target.Model), out var limits)
        ? limits
        : new TargetLimits(target.RequestsPerMinute, target.TokensPerMinute, target.MaxConcurrency, target.ModelRequestsPerMinute, target.ModelTokensPerMinute);

    public int? CapOf(RunningJob job) => _jobCaps.TryGetValue(job.Id, out var cap) ? cap : job.RequestsPerMinuteCap;
}
