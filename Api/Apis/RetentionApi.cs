using AspireBatch.Api.Infrastructure;
using AspireBatch.Api.Services.Access;
using AspireBatch.Api.Services;
using AspireBatch.Contracts;
using AspireBatch.Data.Lifecycle;
using AspireBatch.Data.Live;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Api.Apis;

/// <summary>Retention: purging a finished job's records and answers while its cost ledger stays.</summary>
public static class RetentionApi
{
    public static RouteGroupBuilder MapRetentionApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/jobs").WithTags("Jobs").RequireScope(ApiScopes.Jobs).OwnedJobs().Audited(AuditResourceTypes.Job, AuditSnapshots.Job);
        api.MapPost("/{id:guid}/purge", PurgeJob).WithName("PurgeJob")
            .WithSummary("Delete a finished job's records and answers; keep its counters, history and attempts (the cost ledger); answer what was freed")
            .WithDescription("Only for a completed, failed or cancelled job with no record still pending or running, and not a rehearsal's: 409 otherwise, and for a job already purged. " +
                "Usage and cost reports, the job's counters and time series read the kept ledger and do not change. Exports of a purged job answer 410 and say when it was purged.");
        return api;
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
}

public sealed class RetentionServices(JobLifecycle lifecycle, JobQueries queries, LivePublisher live)
{
    public JobLifecycle Lifecycle { get; } = lifecycle;
    public JobQueries Queries { get; } = queries;
    public LivePublisher Live { get; } = live;
}
