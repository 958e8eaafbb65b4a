using AspireBatch.Api.Services.Access;
using AspireBatch.Api.Services;
using AspireBatch.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Api.Apis;

/// <summary>A job's charts, from the ledger: its calls in time buckets, so a finished or reopened job shows its whole run.</summary>
public static class JobChartsApi
{
    public static RouteGroupBuilder MapJobChartsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/jobs").WithTags("Jobs").RequireScope(ApiScopes.Jobs).OwnedJobs();
        api.MapGet("/{id:guid}/timeseries", GetTimeseries).WithName("GetJobTimeseries")
            .WithSummary("A job's calls, successes, errors, mean and p95 latency, tokens and cost per time bucket, from its attempts")
            .WithDescription("bucketSeconds (1 to 604800) sets the bucket width; without it the width is chosen from the job's run so there are at most " +
                $"{JobTimeseriesQueries.DefaultMaxBuckets} buckets. Buckets are aligned to multiples of their width since the Unix epoch; empty ones are included. " +
                "from (ISO 8601) starts at the bucket holding it: a page that has the series asks only for its last bucket and what came after.");
        return api;
    }

    public static async Task<Results<Ok<JobTimeseries>, NotFound, ValidationProblem>> GetTimeseries(
        Guid id, int? bucketSeconds, DateTimeOffset? from, JobTimeseriesQueries timeseries, CancellationToken cancellationToken)
    {
        if (bucketSeconds is < 1 or > JobTimeseriesQueries.MaxBucketSeconds)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["bucketSeconds"] = [$"bucketSeconds must be between 1 and {JobTimeseriesQueries.MaxBucketSeconds}"],
            });
        }
        var outcome = await timeseries.GetAsync(id, bucketSeconds, from, cancellationToken);
        if (!outcome.JobFound)
        {
            return TypedResults.NotFound();
        }
        return outcome.BucketError is { } error
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["bucketSeconds"] = [error] })
            : TypedResults.Ok(outcome.Series!);
    }
}
