using System.Text.Json.Serialization;

namespace AspireBatch.Contracts;

/// <summary>
/// Life of a job. Stored as its integer value; never reorder. Every change goes through
/// AspireBatch.Data.Lifecycle.JobLifecycle. (0 is unused: an import is one transaction, so no one ever saw a job
/// half-validated.)
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobState>))]
public enum JobState
{
    Queued = 1,
    Running = 2,
    Paused = 3,
    Completed = 4,
    Failed = 5,
    Cancelled = 6,
}

/// <summary>What moved a job, in its history.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobEventKind>))]
public enum JobEventKind
{
    Created = 0,
    Started = 1,
    Paused = 2,
    Resumed = 3,
    Cancelled = 4,
    Completed = 5,
    Failed = 6,
    RetriedFailed = 7,
    /// <summary>The job's unanswered records were sent to another model or route.</summary>
    MovedLeftovers = 8,
    /// <summary>A finished job's records and answers were deleted; its counters and cost ledger (attempts) stay.</summary>
    Purged = 9,
}

/// <summary>
/// Who moved a job: an operator (any caller of the Api, person or script), a worker (starting, finishing, a refused
/// key), the budget, a monitor, or the team's retention policy (a purge by the Worker's retention sweeper).
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobActor>))]
public enum JobActor
{
    Operator = 0,
    Worker = 1,
    Budget = 2,
    Monitor = 3,
    Retention = 4,
}

/// <summary>Life of one record of a job. Stored as its integer value; never reorder.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ItemState>))]
public enum ItemState
{
    Pending = 0,
    Running = 1,
    Succeeded = 2,
    Failed = 3,
    Cancelled = 4,
}

/// <summary>How a job's records became chat requests.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobInputFormat>))]
public enum JobInputFormat
{
    /// <summary>JSONL records with an id and fields, rendered through the job's prompt template.</summary>
    Jsonl = 0,
    /// <summary>CSV with a header row and an id column, rendered through the prompt template.</summary>
    Csv = 1,
    /// <summary>OpenAI Batch input lines: custom_id, method, url and a chat-completions body.</summary>
    OpenAiBatch = 2,
}

/// <summary>What changed a route, in its history. Stored as its integer value; never reorder.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RouteEventKind>))]
public enum RouteEventKind
{
    /// <summary>The active target moved: a rollback, a roll-forward, or an operator's switch.</summary>
    Switch = 0,
    /// <summary>A weighted target breached its thresholds and its weight went to 0.</summary>
    CanaryStopped = 1,
    /// <summary>A rehearsal's candidate became the route's primary, the previous target its fallback.</summary>
    Adopted = 2,
    /// <summary>An operator changed a target's weight by hand (other than stopping a canary, which is CanaryStopped).</summary>
    Reweighted = 3,
}

/// <summary>How a rehearsal picks its records from the source job.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SampleStrategy>))]
public enum SampleStrategy
{
    /// <summary>A seeded random sample: the same seed picks the same records.</summary>
    Random = 0,
    /// <summary>The first N records of the file.</summary>
    First = 1,
    /// <summary>Each value of a field in proportion to its share of the source (seeded within each value).</summary>
    Stratified = 2,
}

/// <summary>How a rehearsal decides that two targets agree on a record.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<JudgeKind>))]
public enum JudgeKind
{
    None = 0,
    /// <summary>The answers are the same text.</summary>
    Exact = 1,
    /// <summary>The same text once case, surrounding space, runs of whitespace and trailing punctuation are set aside.</summary>
    Normalized = 2,
    /// <summary>Both answers are JSON and the chosen fields are equal.</summary>
    JsonFields = 3,
    /// <summary>The same label: the first line of the answer, or the first match (group 1 if any) of a regex; gives a confusion matrix.</summary>
    Label = 4,
}

/// <summary>
/// The OpenAI endpoint a job's records go to. Stored as its integer value; never reorder. On the wire it is the
/// endpoint's path, as in OpenAI Batch lines: <c>/v1/chat/completions</c> or <c>/v1/embeddings</c>.
/// </summary>
[JsonConverter(typeof(JobEndpointJsonConverter))]
public enum JobEndpoint
{
    ChatCompletions = 0,
    Embeddings = 1,
}

public static class JobEndpoints
{
    public const string ChatCompletionsPath = "/v1/chat/completions";
    public const string EmbeddingsPath = "/v1/embeddings";

    public static string Path(this JobEndpoint endpoint) => endpoint == JobEndpoint.Embeddings ? EmbeddingsPath : ChatCompletionsPath;

    /// <summary>The endpoint a path (or the short names chat and embeddings) names; null for anything else.</summary>
    public static JobEndpoint? Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or ChatCompletionsPath or "chat" or "chat/completions" => JobEndpoint.ChatCompletions,
        EmbeddingsPath or "embeddings" => JobEndpoint.Embeddings,
        _ => null,
    };
}

public sealed class JobEndpointJsonConverter : JsonConverter<JobEndpoint>
{
    public override JobEndpoint Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        JobEndpoints.Parse(reader.GetString()) ?? throw new System.Text.Json.JsonException($"unknown endpoint \"{reader.GetString()}\"");

    public override void Write(System.Text.Json.Utf8JsonWriter writer, JobEndpoint value, System.Text.Json.JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Path());
}

/// <summary>
/// How a job's records reach the provider. Stored as its integer value; never reorder. On the wire: <c>realtime</c>,
/// <c>provider-batch</c> or <c>auto</c>.
/// </summary>
[JsonConverter(typeof(JobModeJsonConverter))]
public enum JobMode
{
    /// <summary>Every record is one real-time call (with retries and fallback).</summary>
    Realtime = 0,
    /// <summary>Records go through the provider's own /v1/files + /v1/batches, at its batch price.</summary>
    ProviderBatch = 1,
    /// <summary>Provider batches while the deadline leaves room; whatever is left runs in real time before it.</summary>
    Auto = 2,
}

public static class JobModes
{
    public const string RealtimeName = "realtime";
    public const string ProviderBatchName = "provider-batch";
    public const string AutoName = "auto";

    public static string Name(this JobMode mode) => mode switch
    {
        JobMode.ProviderBatch => ProviderBatchName,
        JobMode.Auto => AutoName,
        _ => RealtimeName,
    };

    /// <summary>The mode a name stands for (absent: realtime); null for anything else.</summary>
    public static JobMode? Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        null or "" or RealtimeName or "real-time" => JobMode.Realtime,
        ProviderBatchName or "provider_batch" or "batch" => JobMode.ProviderBatch,
        AutoName => JobMode.Auto,
        _ => null,
    };
}

public sealed class JobModeJsonConverter : JsonConverter<JobMode>
{
    public override JobMode Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        JobModes.Parse(reader.GetString()) ?? throw new System.Text.Json.JsonException($"unknown mode \"{reader.GetString()}\"");

    public override void Write(System.Text.Json.Utf8JsonWriter writer, JobMode value, System.Text.Json.JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Name());
}

/// <summary>
/// Life of one provider-native batch, each stage stored before the next step is taken. Stored as its integer value;
/// never reorder. Every change goes through AspireBatch.Data.Lifecycle.ProviderBatchLifecycle.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<ProviderBatchState>))]
public enum ProviderBatchState
{
    /// <summary>Records assigned to it (taken out of the queue); the input file is not uploaded yet.</summary>
    Packing = 0,
    /// <summary>The input file is at the provider (its id stored); the batch may not exist yet.</summary>
    Uploaded = 1,
    /// <summary>The provider's batch exists (its id stored) and is polled until it ends.</summary>
    Submitted = 2,
    /// <summary>The provider's batch ended (completed, expired, cancelled or failed): its results are being written.</summary>
    Ended = 3,
    /// <summary>Every result written and every record left over given back to the queue.</summary>
    Done = 4,
}
