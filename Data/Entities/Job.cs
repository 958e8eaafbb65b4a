using AspireBatch.Contracts;

namespace AspireBatch.Data.Entities;

/// <summary>
/// One run of many records through a model. Counters are maintained with every batch of results,
/// so reading progress never counts items.
/// </summary>
public sealed class Job
{
    /// <summary>The unique index on (idempotency_key, is_batch); its name tells a repeated key from other unique violations.</summary>
    public const string IdempotencyKeyIndex = "ix_jobs_idempotency_key_is_batch";

    public Guid Id { get; set; }
    public string? Name { get; set; }
    public JobState State { get; set; }
    public JobInputFormat InputFormat { get; set; }
    /// <summary>What the user asked for: a model, an alias or a route name.</summary>
    public required string RequestedModel { get; set; }
    public Guid? RouteId { get; set; }
    /// <summary>Set when the job runs on one provider's model rather than a route.</summary>
    public Guid? ProviderId { get; set; }
    public string? ModelName { get; set; }
    public string? SystemTemplate { get; set; }
    public string? UserTemplate { get; set; }
    public double? Temperature { get; set; }
    public int? MaxTokens { get; set; }
    /// <summary>OpenAI response_format object as JSON.</summary>
    public string? ResponseFormat { get; set; }
    /// <summary>User metadata as a JSON object.</summary>
    public string? Metadata { get; set; }
    public int? RequestsPerMinuteCap { get; set; }
    public decimal? BudgetUsd { get; set; }
    /// <summary>The job's dedup option as asked: true or false forces it; null means on at temperature 0 (per line for OpenAI Batch files).</summary>
    public bool? Dedup { get; set; }
    public string? StateReason { get; set; }
    /// <summary>The team whose key created the job: only that team (and admin keys) see it.</summary>
    public string Team { get; set; } = Contracts.ApiScopes.AdminTeam;
    /// <summary>The key that created the job (null for the AppHost's key): its monthly budget counts the job's cost.</summary>
    public Guid? ApiKeyId { get; set; }
    public JobEndpoint Endpoint { get; set; }
    /// <summary>Embeddings: the vector size asked of the model (OpenAI's <c>dimensions</c>); null for the model's own.</summary>
    public int? Dimensions { get; set; }
    /// <summary>Set when the job opted in to the response cache: how long its answers serve later jobs, and how old a cached answer it takes.</summary>
    public int? ResponseCacheTtlSeconds { get; set; }
    /// <summary>Records the response cache answered at import: no call, no cost.</summary>
    public int CachedItems { get; set; }
    /// <summary>
    /// A batch's <c>output_expires_after.seconds</c>: its output and error files expire this long after they are
    /// created (OpenAI's anchor is the file's creation, not the batch's). Null: they are kept until deleted.
    /// </summary>
    public int? OutputExpiresAfterSeconds { get; set; }

    public int TotalItems { get; set; }
    public int SucceededItems { get; set; }
    public int FailedItems { get; set; }
    public int CancelledItems { get; set; }
    /// <summary>Records answered with another record's answer (set at import): the calls deduplication saves.</summary>
    public int DeduplicatedItems { get; set; }
    public long InputTokens { get; set; }
    public long OutputTokens { get; set; }
    public decimal CostUsd { get; set; }
    public long CachedInputTokens { get; set; }
    public long ReasoningTokens { get; set; }
    /// <summary>The part of <see cref="CostUsd"/> priced from estimated usage (the provider sent none).</summary>
    public decimal EstimatedUsageCostUsd { get; set; }
    /// <summary>Calls lost with their worker: maybe answered and charged, so kept apart from the paid cost.</summary>
    public int InDoubtCalls { get; set; }
    public decimal InDoubtCostUsd { get; set; }

    public long EstimatedInputTokens { get; set; }
    public decimal EstimatedCostBoundUsd { get; set; }

    /// <summary>Lineage: a hash of the system and user templates, and one of the request parameters (temperature, max tokens, response format).</summary>
    public string? TemplateHash { get; set; }
    public string? ParametersHash { get; set; }
    /// <summary>Set on the jobs a rehearsal runs (one per target), so they are told apart from the operator's own jobs.</summary>
    public Guid? RehearsalId { get; set; }

    /// <summary>W3C traceparent of the request that created the job, so a job's work joins its trace.</summary>
    public string? TraceParent { get; set; }
    public string? InputFileId { get; set; }
    public bool IsBatch { get; set; }
    /// <summary>Real time, the provider's native batches, or auto (batches while <see cref="Deadline"/> leaves room).</summary>
    public JobMode Mode { get; set; }
    /// <summary>Auto mode: when every record must be answered; the rest runs in real time before it.</summary>
    public DateTimeOffset? Deadline { get; set; }
    /// <summary>The client's Idempotency-Key: unique per endpoint (jobs and batches apart), written with the job.</summary>
    public string? IdempotencyKey { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public DateTimeOffset? CancelledAt { get; set; }

    /// <summary>
    /// Set when retention purged the job's records and answers (<see cref="Lifecycle.JobLifecycle.PurgeAsync"/>): the
    /// job row, its counters, events and attempts (the cost ledger) stay; what was deleted is counted here.
    /// </summary>
    public DateTimeOffset? PurgedAt { get; set; }
    public int PurgedItems { get; set; }
    /// <summary>Row data of the deleted records (heap and TOAST, <c>pg_column_size</c>), indexes not counted.</summary>
    public long PurgedBytes { get; set; }
}
