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
}

/// <summary>
/// Who moved a job: an operator (any caller of the Api, person or script), a worker (starting, finishing, a refused
/// key), the budget, or a monitor.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<JobActor>))]
public enum JobActor
{
    Operator = 0,
    Worker = 1,
    Budget = 2,
    Monitor = 3,
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
