using System.Text.Json;
using AspireBatch.Api.Services.Access;
using AspireBatch.Data;
using AspireBatch.Data.Audit;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Api.Infrastructure;

/// <summary>Reads a resource as the audit log keeps it, from the request's route values; null when there is none.</summary>
public delegate Task<object?> AuditSnapshot(HttpContext http, CancellationToken cancellationToken);

public static class AuditFilter
{
    /// <summary>
    /// Every successful change through these endpoints (any method but GET and HEAD) adds an audit row: the caller,
    /// the endpoint's name, the resource before (read by <paramref name="snapshot"/>) and after (the answer's value,
    /// or the resource read again). Refused changes change nothing and are not logged.
    /// </summary>
    public static TBuilder Audited<TBuilder>(this TBuilder builder, string resourceType, AuditSnapshot? snapshot = null)
        where TBuilder : IEndpointConventionBuilder
    {
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method) || IsProbe(http))
            {
                return await next(context);
            }
            var before = snapshot is null ? null : await snapshot(http, http.RequestAborted);
            var result = await next(context);
            var inner = result;
            while (inner is INestedHttpResult nested)
            {
                inner = nested.Result;
            }
            if (inner is not IStatusCodeHttpResult { StatusCode: >= 200 and < 300 })
            {
                return result;
            }
            object? after = inner is IValueHttpResult { Value: { } value } ? value : null;
            if (after is null && snapshot is not null && !HttpMethods.IsDelete(http.Request.Method))
            {
                after = await snapshot(http, CancellationToken.None);
            }
            var services = http.RequestServices;
            var caller = services.GetRequiredService<CallerAccess>();
            var action = http.GetEndpoint()?.Metadata.GetMetadata<IEndpointNameMetadata>()?.EndpointName ?? $"{http.Request.Method} {http.Request.Path}";
            var entry = AuditRecords.Create(caller.Actor, caller.Team, action, resourceType, ResourceId(http, after), before, after,
                services.GetRequiredService<TimeProvider>().GetUtcNow());
            // Its own scope and context: the handler's context may still track what it changed, and the change is committed.
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<BatchDbContext>();
            db.AuditLog.Add(entry);
            await db.SaveChangesAsync(CancellationToken.None);
            return result;
        });
        return builder;
    }

    // A connection test reads the provider; it changes nothing.
    private static bool IsProbe(HttpContext http) => http.Request.Path.Value?.EndsWith("/test", StringComparison.Ordinal) == true
        || http.Request.Path.Value?.EndsWith("/preview", StringComparison.Ordinal) == true;

    /// <summary>The route's id (with a model or alias name where the route has one), or the created resource's id.</summary>
    private static string? ResourceId(HttpContext http, object? after)
    {
        var values = http.Request.RouteValues;
        var id = values.TryGetValue("id", out var value) ? value?.ToString() : null;
        foreach (var name in new[] { "model", "alias", "team" })
        {
            if (values.TryGetValue(name, out var part) && part is not null)
            {
                id = id is null ? part.ToString() : $"{id}/{part}";
            }
        }
        if (id is null && after is not null)
        {
            var node = JsonSerializer.SerializeToNode(after, after.GetType(), JsonSerializerOptions.Web);
            id = (node?["id"] ?? node?["key"]?["id"] ?? node?["job"]?["id"])?.ToString();
        }
        return id;
    }
}
