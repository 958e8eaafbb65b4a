using AspireBatch.Api.Infrastructure;
using AspireBatch.Api.Services.Access;
using AspireBatch.Api.Services;
using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Entities;
using AspireBatch.Data.Lifecycle;
using AspireBatch.Data.Live;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Apis;

/// <summary>
/// Retention: purging a finished job's records and answers while its cost ledger stays, by hand or by a team's policy
/// (which the Worker's retention sweeper applies).
/// </summary>
public static class RetentionApi
{
    /// <summary>Days a policy may keep finished jobs at most (a century).</summary>
    public const int MaxDays = 36_500;

    public static IEndpointRouteBuilder MapRetentionApi(this IEndpointRouteBuilder app)
    {
        var jobs = app.MapGroup("/api/jobs").WithTags("Jobs").RequireScope(ApiScopes.Jobs).OwnedJobs().Audited(AuditResourceTypes.Job, AuditSnapshots.Job);
        jobs.MapPost("/{id:guid}/purge", PurgeJob).WithName("PurgeJob").AuditsAnswer()
            .WithSummary("Delete a finished job's records and answers; keep its counters, history and attempts (the cost ledger); answer what was freed")
            .WithDescription("Only for a completed, failed or cancelled job with no record still pending or running, and not a rehearsal's: 409 otherwise, and for a job already purged. " +
                "Usage and cost reports, the job's counters and time series read the kept ledger and do not change. Exports of a purged job answer 410 and say when it was purged.");

        var policies = app.MapGroup("/api/retention/policies").WithTags("Retention").RequireScope(ApiScopes.Admin)
            .Audited(AuditResourceTypes.RetentionPolicy, AuditSnapshots.RetentionPolicy);
        policies.MapGet("/", ListPolicies).WithName("ListRetentionPolicies").WithSummary("Every team's retention policy, by team");
        policies.MapPut("/{team}", SetPolicy).WithName("SetRetentionPolicy")
            .WithSummary("Set a team's retention: its finished jobs are purged (records and answers; the cost ledger stays) once they finished more than N days ago")
            .WithDescription("`{\"purgeFinishedJobsAfterDays\": N}`, N from 1 to 36500. The Worker's retention sweeper applies it at every sweep (Worker:Retention:SweepInterval) " +
                "exactly as `POST /api/jobs/{id}/purge` would, and leaves a receipt per job in the audit log (action RetentionPurge, actor system).");
        policies.MapDelete("/{team}", RemovePolicy).WithName("RemoveRetentionPolicy").WithSummary("Remove a team's retention policy: its jobs are kept until purged by hand");
        return app;
    }

    public static async Task<Results<Ok<JobPurged>, NotFound, ProblemHttpResult>> PurgeJob(
        Guid id, [AsParameters] RetentionServices services, CancellationToken cancellationToken)
    {
        var result = await services.Lifecycle.PurgeAsync(id, cancellationToken);
        switch (result.Outcome)
        {
            case PurgeOutcome.NotFound:
                return TypedResults.NotFound();
            case PurgeOutcome.Done:
                await services.Live.JobChangedAsync(id);
                var job = (await services.Queries.GetAsync(id, cancellationToken))!;
                return TypedResults.Ok(new JobPurged(job, result.Records, result.Bytes, result.AttemptsKept));
        }
        var state = result.State?.ToString().ToLowerInvariant();
        var detail = result.Outcome switch
        {
            PurgeOutcome.AlreadyPurged => $"the job's records were already purged at {result.PurgedAt:u}",
            PurgeOutcome.Rehearsal => "the job belongs to a rehearsal, whose comparison reads its answers: it is kept with the rehearsal",
            _ when result.Records > 0 => $"the {state} job still has {result.Records} record(s) pending or running; purge it once they have settled",
            _ => $"a {state} job cannot be purged: only completed, failed or cancelled jobs can",
        };
        return TypedResults.Problem(detail, title: "Conflict", statusCode: StatusCodes.Status409Conflict);
    }

    public static async Task<Ok<IReadOnlyList<RetentionPolicyDto>>> ListPolicies(BatchDbContext db, CancellationToken cancellationToken) =>
        TypedResults.Ok<IReadOnlyList<RetentionPolicyDto>>(await db.RetentionPolicies.AsNoTracking().OrderBy(p => p.Team)
            .Select(p => new RetentionPolicyDto(p.Team, p.PurgeFinishedJobsAfterDays, p.UpdatedAt)).ToListAsync(cancellationToken));

    public static async Task<Results<Ok<RetentionPolicyDto>, ValidationProblem>> SetPolicy(
        string team, RetentionPolicyRequest request, BatchDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!ApiKeyStore.IsTeamName(team))
        {
            return Invalid.Field("team", ApiKeyStore.TeamNameRule);
        }
        if (request.PurgeFinishedJobsAfterDays is < 1 or > MaxDays)
        {
            return Invalid.Field("purgeFinishedJobsAfterDays", $"purgeFinishedJobsAfterDays must be a whole number of days from 1 to {MaxDays}");
        }
        var now = time.GetUtcNow();
        // One statement: two operators setting the same team at once both succeed, the later one wins.
        await db.Database.ExecuteSqlAsync($"""
            INSERT INTO retention_policies (team, purge_finished_jobs_after_days, updated_at) VALUES ({team}, {request.PurgeFinishedJobsAfterDays}, {now})
            ON CONFLICT (team) DO UPDATE SET purge_finished_jobs_after_days = excluded.purge_finished_jobs_after_days, updated_at = excluded.updated_at
            """, cancellationToken);
        return TypedResults.Ok(new RetentionPolicyDto(team, request.PurgeFinishedJobsAfterDays, now));
    }

    public static async Task<Results<NoContent, NotFound>> RemovePolicy(string team, BatchDbContext db, CancellationToken cancellationToken) =>
        await db.RetentionPolicies.Where(p => p.Team == team).ExecuteDeleteAsync(cancellationToken) > 0 ? TypedResults.NoContent() : TypedResults.NotFound();

    public static RetentionPolicyDto ToDto(RetentionPolicy policy) => new(policy.Team, policy.PurgeFinishedJobsAfterDays, policy.UpdatedAt);
}

public sealed class RetentionServices(JobLifecycle lifecycle, JobQueries queries, LivePublisher live)
{
    public JobLifecycle Lifecycle { get; } = lifecycle;
    public JobQueries Queries { get; } = queries;
    public LivePublisher Live { get; } = live;
}
