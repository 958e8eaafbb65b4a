namespace AspireBatch.Data.Entities;

/// <summary>
/// A team's retention: the Worker's retention sweeper purges each of the team's finished jobs (records and answers; the
/// cost ledger stays) once it finished more than <see cref="PurgeFinishedJobsAfterDays"/> days ago.
/// </summary>
public sealed class RetentionPolicy
{
    public required string Team { get; set; }
    public int PurgeFinishedJobsAfterDays { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
