using System.Text.Json;
using AspireBatch.Api.Apis;
using AspireBatch.Api.Services.Access;
using AspireBatch.Data;
using AspireBatch.Data.Audit;
using AspireBatch.Data.Live;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Api.Infrastructure;

/// <summary>Reads a resource as the audit log keeps it, from the request's route values; null when there is none.</summary>
public delegate Task<object?> AuditSnapshot(HttpContext http, CancellationToken cancellationToken);

public static class AuditFilter
{
    /// <summary>
    /// Every successful change through these endpoints (any method but GET and HEAD) adds an audit row: the caller,
    /// the endpoint's name, the resource before and after, both read by <paramref name="snapshot"/> so they have the
    /// same shape (the answer's value where there is no snapshot, or it finds nothing: a creation, a batch, a file).
    /// Refused changes (4xx, 5xx) change nothing and are not logged, nor is an idempotent replay, which creates nothing.
    /// </summary>
    /// <remarks>
    /// The row is written after the handler committed its change, in a transaction of its own: a crash between the two
    /// loses that row (docs/security.md, "Audit log"). One transaction for both would need every handler's writes on one
    /// connection; they are not (EF Core under retrying execution strategies with transactions of their own, the
    /// import's COPY on its own connection).
    /// </remarks>
    public static TBuilder Audited<TBuilder>(this TBuilder builder, string resourceType, AuditSnapshot? snapshot = null)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) || http.GetEndpoint()?.Metadata.GetMetadata<ChangesNothingMetadata>() is not null)
            {
                return await next(context);
            }
            var before = snapshot is null ? null : await snapshot(http, http.RequestAborted);
            var result = await next(context);
            if (!Succeeded(result, out var value) || http.Response.Headers.ContainsKey(IdempotencyKey.ReplayedHeader))
            {
                return result;
            }
            var services = http.RequestServices;
            var caller = services.GetRequiredService<CallerAccess>();
            var action = http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? $"{http.Request.Method} {http.Request.Path}";
            string? resourceId = null;
            string? recorded = null;
            try
            {
                resourceId = ResourceId(http, value);
                // The change is committed: nothing here may be cancelled by the caller going away.
                var receipt = http.GetEndpoint()?.Metadata.GetMetadata<AuditAnswerAsAfter>() is not null && value is not null;
                var after = receipt ? value : (snapshot is null ? null : await snapshot(http, CancellationToken.None)) ?? value;
                var entry = AuditRecords.Create(caller.Actor, caller.Team, action, resourceType, resourceId, before, after,
                    services.GetRequiredService<TimeProvider>().GetUtcNow());
                recorded = $"before: {entry.Before}; after: {entry.After}";
                // Its own scope and context: the handler's context may still track what it changed.
                await using var scope = services.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<BatchDbContext>();
                db.AuditLog.Add(entry);
                await db.SaveChangesAsync(CancellationToken.None);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The change was made and the caller must hear so: a 500 now would have it retry a change that happened.
                // The row goes to the log instead (its before and after are masked), to be found there.
                services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(AuditFilter)).LogError(e,
                    "Could not write the audit row of {Action} on {ResourceType} {ResourceId} by {Actor}; {Recorded}",
                    action, resourceType, resourceId, caller.Actor, recorded ?? "before and after not read");
                return result;
            }
            await services.GetRequiredService<LivePublisher>().AuditChangedAsync();
            return result;
        });
        return builder;
    }

    /// <summary>The answer is what the audit keeps as after (a purge's receipt), rather than the resource read again.</summary>
    public static TBuilder AuditsAnswer<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AuditAnswerAsAfter());

    /// <summary>A POST that only reads (a connection test, a preview): the audit passes it by.</summary>
    public static TBuilder ChangesNothing<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new ChangesNothingMetadata());

    /// <summary>
    /// Whether the answer is a success (2xx), with its value: a typed result's value, or what a handler returned as is.
    /// A result without a status code (TypedResults.Json without one) answers 200.
    /// </summary>
    private static bool Succeeded(object? result, out object? value)
    {
        var inner = result;
        while (inner is INestedHttpResult nested)
        {
            inner = nested.Result;
        }
        value = inner switch
        {
            IValueHttpResult valued => valued.Value,
            IResult => null,
            var plain => plain,
        };
        var status = inner is IStatusCodeHttpResult coded ? coded.StatusCode ?? StatusCodes.Status200OK : StatusCodes.Status200OK;
        return status is >= 200 and < 300;
    }

    /// <summary>
    /// The route's id (with a model or alias name where the route has one), or the created resource's id. Guids are
    /// written in one form, whatever case the caller sent, so a filter by id finds them all.
    /// </summary>
    private static string? ResourceId(HttpContext http, object? answer)
    {
        var values = http.Request.RouteValues;
        var id = values.TryGetValue("id", out var value) ? Canonical(value?.ToString()) : null;
        foreach (var name in new[] { "model", "alias", "team" })
        {
            if (values.TryGetValue(name, out var part) && part is not null)
            {
                id = id is null ? part.ToString() : $"{id}/{part}";
            }
        }
        if (id is null && answer is not null)
        {
            var node = JsonSerializer.SerializeToNode(answer, answer.GetType(), JsonSerializerOptions.Web);
            id = Canonical((node?["id"] ?? node?["key"]?["id"] ?? node?["job"]?["id"])?.ToString());
        }
        return id;
    }

    private static string? Canonical(string? id) => Guid.TryParse(id, out var guid) ? guid.ToString() : id;
}

/// <summary>Endpoint metadata: the audit's after is the answer (<see cref="AuditFilter.AuditsAnswer"/>).</summary>
public sealed record AuditAnswerAsAfter;

/// <summary>Endpoint metadata: the endpoint changes nothing (<see cref="AuditFilter.ChangesNothing"/>).</summary>
public sealed record ChangesNothingMetadata;
