using AspireBatch.Api.Services.Access;
using AspireBatch.Api.Infrastructure;
using AspireBatch.Api.Services;
using AspireBatch.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Api.Apis;

public static class StatsApi
{
    public static RouteGroupBuilder MapStatsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/stats").WithTags("Usage and cost").RequireScope(ApiScopes.Jobs);
        api.MapGet("/overview", Overview).WithName("GetOverview").WithSummary("Running jobs, calls/tokens/cost of the last hour and day, recent rollbacks");
        api.MapGet("/usage", Usage).WithName("GetUsage").WithSummary("Calls, tokens, cost and latency grouped by model or provider (groupBy=model|provider|mode: real time against provider batches)");
        api.MapGet("/daily", Daily).WithName("GetDailyUsage").WithSummary("Usage per day and model or provider");
        api.MapGet("/compare", Compare).WithName("CompareProviders")
            .WithSummary("Before/after on measured calls: before and after are provider/model targets, monthlyCalls the volume to project");
        return api;
    }

    public static async Task<Ok<OverviewDto>> Overview(UsageQueries usage, CancellationToken cancellationToken) =>
        TypedResults.Ok(await usage.OverviewAsync(cancellationToken));

    public static async Task<Results<Ok<List<UsageByKey>>, ValidationProblem>> Usage(UsageQueries usage, CancellationToken cancellationToken, string groupBy = "model", DateTimeOffset? from = null, DateTimeOffset? to = null) =>
        groupBy is "model" or "provider" or "mode"
            ? TypedResults.Ok(await usage.ByKeyAsync(groupBy, from, to, cancellationToken))
            : Invalid.Field("groupBy", "groupBy must be model, provider or mode");

    public static async Task<Results<Ok<List<UsageByDay>>, ValidationProblem>> Daily(UsageQueries usage, CancellationToken cancellationToken, string groupBy = "model", int days = 30) =>
        groupBy is "model" or "provider" or "mode" && days is >= 1 and <= 366
            ? TypedResults.Ok(await usage.DailyAsync(groupBy, days, cancellationToken))
            : Invalid.Field(groupBy is "model" or "provider" or "mode" ? "days" : "groupBy", "groupBy must be model, provider or mode and days 1-366");

    public static async Task<Results<Ok<ProviderComparison>, ValidationProblem>> Compare(UsageQueries usage, string before, string after, CancellationToken cancellationToken, long monthlyCalls = 1_000_000) =>
        monthlyCalls >= 0 && before.Contains('/') && after.Contains('/')
            ? TypedResults.Ok(await usage.CompareAsync(before, after, monthlyCalls, cancellationToken))
            : Invalid.Field(monthlyCalls < 0 ? "monthlyCalls" : "before", "before and after are provider/model (e.g. sim-primary/deepseek-chat) and monthlyCalls is 0 or more");
}
