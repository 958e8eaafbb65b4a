using AspireBatch.Contracts;

namespace AspireBatch.Data.Entities;

/// <summary>One transition in a job's life, written by <see cref="Lifecycle.JobLifecycle"/> in the statement that makes it.</summary>
public sealed class JobEvent
{
    public long Id { get; set; }
    public Guid JobId { get; set; }
    public JobEventKind Kind { get; set; }
    /// <summary>Null for the event that created the job.</summary>
    public JobState? FromState { get; set; }
    public JobState ToState { get; set; }
    public JobActor Actor { get; set; }
    public string? Reason { get; set; }
    /// <summary>Records the transition moved, where it moved any (retry failed, a cancel's pending records).</summary>
    public int? Items { get; set; }
    public DateTimeOffset At { get; set; }
}
