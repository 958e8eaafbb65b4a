using System.ComponentModel.DataAnnotations;

namespace AspireBatch.Worker;

public sealed class WorkerOptions
{
    /// <summary>Calls this worker keeps in flight at once (the playbook's 50).</summary>
    [Range(1, 10_000)]
    public int MaxInFlight { get; set; } = 50;

    /// <summary>How long a claim holds an item; renewed while the call runs, so only a dead worker's items expire.</summary>
    [Range(5, 3600)]
    public int LeaseSeconds { get; set; } = 60;

    [Range(10, 10_000)]
    public int PollMilliseconds { get; set; } = 200;

    [Range(1, 10_000)]
    public int ResultBatchSize { get; set; } = 200;

    [Range(1, 10_000)]
    public int ResultFlushMilliseconds { get; set; } = 100;

    /// <summary>Calls per target before the item falls back or fails (the playbook's 5).</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The longest wait between attempts, Retry-After included (the playbook's 60 s).</summary>
    [Range(1, 3600)]
    public int MaxRetryDelaySeconds { get; set; } = 60;

    [Range(1, 60_000)]
    public int BaseRetryDelayMilliseconds { get; set; } = 500;

    /// <summary>
    /// Times an answer that breaks the job's JSON schema is asked again, with the errors fed back, before the record
    /// fails with schema_invalid. Each re-ask is a paid call; transport retries of a re-ask are counted by MaxAttempts.
    /// </summary>
    [Range(0, 10)]
    public int MaxSchemaReasks { get; set; } = 2;

    /// <summary>Our own failures (Redis, Postgres, a bug) an item may meet before it stops with internal_error_limit; until then it goes back to the queue.</summary>
    [Range(1, 1000)]
    public int MaxInternalErrors { get; set; } = 10;

    [Range(1, 600)]
    public int CatalogRefreshSeconds { get; set; } = 2;

    [Range(50, 60_000)]
    public int JobRefreshMilliseconds { get; set; } = 1000;

    /// <summary>Failures in a row (5xx, timeouts, connection errors) that open a provider's circuit.</summary>
    [Range(1, 10_000)]
    public int CircuitFailureThreshold { get; set; } = 10;

    [Range(1, 3600)]
    public int CircuitBreakSeconds { get; set; } = 30;

    /// <summary>How often the route monitor and the provider health checks look (the routes' own intervals still apply).</summary>
    [Range(1, 3600)]
    public int HealthCheckSeconds { get; set; } = 30;

    /// <summary>
    /// Puts prompt and answer text on model-call spans (gen_ai.input.messages, gen_ai.output.messages). Off: records
    /// are often personal data and traces are kept and shared more widely than results.
    /// </summary>
    public bool CaptureMessageContent { get; set; }
}
