namespace AspireBatch.Data.Entities;

/// <summary>
/// One change, as it was made: who, when, what, and the resource before and after (JSON, secrets masked by
/// <see cref="Audit.AuditRecords"/>). Rows are only ever added.
/// </summary>
public sealed class AuditEntry
{
    public long Id { get; set; }
    public DateTimeOffset At { get; set; }
    /// <summary>"api-key (AppHost)" (the AppHost's key, which the Dashboard uses too), "key ingest (support)" for a team's key, or "system" for what the services decide themselves.</summary>
    public required string Actor { get; set; }
    /// <summary>The caller's team; admin for the AppHost's key and the system.</summary>
    public required string Team { get; set; }
    /// <summary>The endpoint's name (UpdateProvider, PauseJob, ...) or the system's decision (AutomaticRollback, RetentionPurge, ...).</summary>
    public required string Action { get; set; }
    /// <summary>One of <see cref="Contracts.AuditResourceTypes"/>: provider, model, alias, route, job, key, rehearsal, batch, file.</summary>
    public required string ResourceType { get; set; }
    public string? ResourceId { get; set; }
    public string? Before { get; set; }
    public string? After { get; set; }
}
