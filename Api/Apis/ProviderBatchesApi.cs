using AspireBatch.Api.Services.Access;
using AspireBatch.Api.Services;
using AspireBatch.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Api.Apis;

/// <summary>A job's provider-native batches: what went to the provider's own /v1/batches, its status, and the saving.</summary>
public static class ProviderBatchesApi
{
    public static RouteGroupBuilder MapProviderBatchesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/jobs").WithTags("Jobs").RequireScope(ApiScopes.Jobs).OwnedJobs();
        api.MapGet("/{id:guid}/provider-batches", GetProviderBatches).WithName("GetJobProviderBatches")
            .WithSummary("A job's provider batches (stage, provider ids and status, lines, cost at the batch price) and the saving against real time")
            .WithDescription("Spend is summed from the ledger's attempts of each batch's lines; realtimeEquivalentUsd prices the same tokens at the " +
                "real-time price the batch was packed with, and savingUsd is the difference. realtimeCostUsd is what the job's real-time calls cost.");
        return api;
    }

    public static async Task<Results<Ok<JobProviderBatches>, NotFound>> GetProviderBatches(Guid id, ProviderBatchQueries queries, CancellationToken cancellationToken) =>
        await queries.GetAsync(id, cancellationToken) is { } batches ? TypedResults.Ok(batches) : TypedResults.NotFound();
}
