using AspireBatch.Worker.Execution;

namespace AspireBatch.Worker.Limits;

/// <summary>A provider's limits as last read from the catalog.</summary>
public sealed record ProviderLimits(int? RequestsPerMinute, int? TokensPerMinute, int? MaxConcurrency);

/// <summary>
/// The limits in force now, replaced whenever the directories reload. Calls already waiting for a slot read them at
/// every look, so a raised or lowered limit applies within seconds instead of after every waiting call has gone
/// through at the old one.
/// </summary>
public sealed class LiveLimits
{
    private volatile IReadOnlyDictionary<Guid, ProviderLimits> _providers = new Dictionary<Guid, ProviderLimits>();
    private volatile IReadOnlyDictionary<Guid, int?> _jobCaps = new Dictionary<Guid, int?>();

    public void SetProviders(IReadOnlyDictionary<Guid, ProviderLimits> providers) => _providers = providers;

    public void SetJobCaps(IReadOnlyDictionary<Guid, int?> caps) => _jobCaps = caps;

    /// <summary>The catalog's limits for the target's provider; the target's own copy until the catalog has been read.</summary>
    public ProviderLimits Of(CallTarget target) => _providers.TryGetValue(target.ProviderId, out var limits)
        ? limits
        : new ProviderLimits(target.RequestsPerMinute, target.TokensPerMinute, target.MaxConcurrency);

    public int? CapOf(RunningJob job) => _jobCaps.TryGetValue(job.Id, out var cap) ? cap : job.RequestsPerMinuteCap;
}
