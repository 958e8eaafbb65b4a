using System.Text.Json;
using AspireBatch.Api.Infrastructure;
using AspireBatch.Api.Services.Access;
using AspireBatch.Contracts;
using AspireBatch.Data;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Apis;

public static class AuditApi
{
    public static RouteGroupBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/audit").WithTags("Access").RequireScope(ApiScopes.Admin);
        api.MapGet("/", ListAudit).WithName("ListAudit")
            .WithSummary("Every change, newest first: who, when, what, before and after (secrets masked); filtered by resourceType, resourceId, actor, action, team, from and to, and paged");
        return api;
    }

    public static async Task<Results<Ok<PagedResult<AuditEntryDto>>, ValidationProblem>> ListAudit(BatchDbContext db, CancellationToken cancellationToken,
        string? resourceType = null, string? resourceId = null, string? actor = null, string? action = null, string? team = null,
        DateTimeOffset? from = null, DateTimeOffset? to = null, int page = 1, int pageSize = 50)
    {
        if (page < 1 || pageSize is < 1 or > 500)
        {
            return Invalid.Field(page < 1 ? "page" : "pageSize", "page must be 1 or more and pageSize between 1 and 500");
        }
        if (from > to)
        {
            return Invalid.Field("from", "from must be before to");
        }
        var query = db.AuditLog.AsNoTracking();
        if (!string.IsNullOrWhiteSpace(resourceType))
        {
            query = query.Where(a => a.ResourceType == resourceType);
        }
        if (!string.IsNullOrWhiteSpace(resourceId))
        {
            // A provider's id finds its models' rows too (id/model).
            var id = Guid.TryParse(resourceId, out var guid) ? guid.ToString() : resourceId.Trim();
            var children = id + "/";
            query = query.Where(a => a.ResourceId == id || a.ResourceId!.StartsWith(children));
        }
        if (!string.IsNullOrWhiteSpace(actor))
        {
            var pattern = Contains(actor);
            query = query.Where(a => EF.Functions.ILike(a.Actor, pattern, @"\"));
        }
        if (!string.IsNullOrWhiteSpace(action))
        {
            var pattern = Contains(action);
            query = query.Where(a => EF.Functions.ILike(a.Action, pattern, @"\"));
        }
        if (!string.IsNullOrWhiteSpace(team))
        {
            query = query.Where(a => a.Team == team);
        }
        if (from is { } since)
        {
            query = query.Where(a => a.At >= since);
        }
        if (to is { } until)
        {
            query = query.Where(a => a.At < until);
        }
        var total = await query.LongCountAsync(cancellationToken);
        var rows = await query.OrderByDescending(a => a.Id).Skip((page - 1) * pageSize).Take(pageSize).ToListAsync(cancellationToken);
        var items = rows.Select(a => new AuditEntryDto(a.Id, a.At, a.Actor, a.Team, a.Action, a.ResourceType, a.ResourceId, Parse(a.Before), Parse(a.After))).ToList();
        return TypedResults.Ok(new PagedResult<AuditEntryDto>(items, page, pageSize, total));
    }

    private static JsonElement? Parse(string? json)
    {
        if (json is null)
        {
            return null;
        }
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>An ILIKE pattern for text containing <paramref name="text"/> as typed: its % and _ match themselves.</summary>
    internal static string Contains(string text) =>
        "%" + text.Trim().Replace(@"\", @"\\", StringComparison.Ordinal).Replace("%", @"\%", StringComparison.Ordinal).Replace("_", @"\_", StringComparison.Ordinal) + "%";
}
