using AspireBatch.Api.Services.OpenAi;
using Npgsql;

namespace AspireBatch.Api.Services.Access;

/// <summary>
/// Another team's job, rehearsal, file or batch does not exist for the caller: every route that names one by its
/// <c>{id}</c> answers 404 (in OpenAI's shape under /v1) unless the caller's team owns it or the key is an admin key.
/// A rehearsal belongs to its source job's team, a batch to its job's, an output file to its batch's. Checked by
/// middleware after authorization and before the request is bound, so no body or form is read for a stranger.
/// </summary>
public static class Ownership
{
    /// <summary>How a group finds the owner of its <c>{id}</c>, and what it answers a stranger.</summary>
    public sealed record OwnedResource(string OwnerQuery, Func<string, object?> Parse, Func<string, IResult> NotFound);

    public static RouteGroupBuilder OwnedJobs(this RouteGroupBuilder group) => group.WithMetadata(new OwnedResource(
        "SELECT team FROM jobs WHERE id = @id", raw => Guid.TryParse(raw, out var id) ? id : null,
        id => TypedResults.Problem($"No job {id}.", title: "Not found", statusCode: StatusCodes.Status404NotFound)));

    public static RouteGroupBuilder OwnedRehearsals(this RouteGroupBuilder group) => group.WithMetadata(new OwnedResource(
        "SELECT j.team FROM rehearsals r JOIN jobs j ON j.id = r.source_job_id WHERE r.id = @id", raw => Guid.TryParse(raw, out var id) ? id : null,
        id => TypedResults.Problem($"No rehearsal {id}.", title: "Not found", statusCode: StatusCodes.Status404NotFound)));

    public static RouteGroupBuilder OwnedFiles(this RouteGroupBuilder group) => group.WithMetadata(new OwnedResource(
        "SELECT team FROM files WHERE id = @id", raw => raw, id => OpenAiResult(OpenAiFailure.NotFound($"No such File object: {id}", "id"))));

    public static RouteGroupBuilder OwnedBatches(this RouteGroupBuilder group) => group.WithMetadata(new OwnedResource(
        "SELECT team FROM jobs WHERE id = @id AND is_batch", raw => BatchService.ParseBatchId(raw),
        id => OpenAiResult(OpenAiFailure.NotFound($"No such Batch object: {id}", "batch_id"))));

    /// <summary>After authorization: a route marked with <see cref="OwnedResource"/> whose <c>{id}</c> another team owns answers its 404.</summary>
    public static IApplicationBuilder UseOwnership(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (http.GetEndpoint()?.Metadata.GetMetadata<OwnedResource>() is not { } owned || http.GetRouteValue("id") is not string raw
            || owned.Parse(raw) is not { } id)
        {
            // Not an owned route, or an id the route's own handler will call malformed.
            await next(http);
            return;
        }
        var access = http.RequestServices.GetRequiredService<CallerAccess>();
        if (access.SeesAll)
        {
            await next(http);
            return;
        }
        await using var command = http.RequestServices.GetRequiredService<NpgsqlDataSource>().CreateCommand(owned.OwnerQuery);
        command.Parameters.AddWithValue("id", id);
        if (await command.ExecuteScalarAsync(http.RequestAborted) is string team && access.Sees(team))
        {
            await next(http);
            return;
        }
        await owned.NotFound(raw).ExecuteAsync(http);
    });

    private static IResult OpenAiResult(OpenAiFailure failure) => TypedResults.Json(failure.ToResponse(), statusCode: failure.StatusCode);
}
