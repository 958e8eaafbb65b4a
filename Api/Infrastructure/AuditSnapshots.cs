using AspireBatch.Api.Apis;
using AspireBatch.Api.Services;
using AspireBatch.Api.Services.Access;
using AspireBatch.Api.Services.Rehearsals;
using AspireBatch.Data;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Infrastructure;

/// <summary>How the audit log reads each resource before and after a change: the same DTOs the Api answers with, so no secret is in them.</summary>
public static class AuditSnapshots
{
    public static readonly AuditSnapshot Provider = async (http, ct) => Id(http) is { } id
        && await Db(http).Providers.AsNoTracking().Include(p => p.Models).FirstOrDefaultAsync(p => p.Id == id, ct) is { } provider
            ? ProvidersApi.ToDto(provider)
            : null;

    public static readonly AuditSnapshot Model = async (http, ct) => Id(http) is { } id && Value(http, "model") is { } model
        && await Db(http).ProviderModels.AsNoTracking().FirstOrDefaultAsync(m => m.ProviderId == id && m.Name == model, ct) is { } entity
            ? ProvidersApi.ToDto(entity)
            : null;

    public static readonly AuditSnapshot Alias = async (http, ct) => Value(http, "alias") is { } alias
        && await Db(http).ModelAliases.AsNoTracking().FirstOrDefaultAsync(a => a.Alias == alias, ct) is { } entity
            ? new { alias = entity.Alias, model = entity.ModelName }
            : null;

    public static readonly AuditSnapshot Route = async (http, ct) => Id(http) is { } id && await RoutesApi.Load(Db(http), id, ct) is { } route
        ? RoutesApi.ToDto(route)
        : null;

    public static readonly AuditSnapshot Job = async (http, ct) => Id(http) is { } id
        ? await http.RequestServices.GetRequiredService<JobQueries>().GetAsync(id, ct)
        : null;

    public static readonly AuditSnapshot Key = async (http, ct) => Id(http) is { } id
        ? await Db(http).ApiKeys.AsNoTracking().Where(k => k.Id == id)
            .Select(k => new { k.Id, k.Name, k.Team, k.Scopes, k.Prefix, k.RequestsPerMinute, k.MonthlyBudgetUsd, k.RevokedAt })
            .FirstOrDefaultAsync(ct)
        : null;

    public static readonly AuditSnapshot Rehearsal = async (http, ct) => Id(http) is { } id
        ? await http.RequestServices.GetRequiredService<RehearsalReports>().GetAsync(id, ct)
        : null;

    public static readonly AuditSnapshot Account = async (http, _) => Id(http) is { } id
        ? await http.RequestServices.GetRequiredService<AccountStore>().GetAsync(id)
        : null;

    public static readonly AuditSnapshot RetentionPolicy = async (http, ct) => Value(http, "team") is { } team
        && await Db(http).RetentionPolicies.AsNoTracking().FirstOrDefaultAsync(p => p.Team == team, ct) is { } policy
            ? RetentionApi.ToDto(policy)
            : null;

    private static BatchDbContext Db(HttpContext http) => http.RequestServices.GetRequiredService<BatchDbContext>();

    private static Guid? Id(HttpContext http) => Guid.TryParse(Value(http, "id"), out var id) ? id : null;

    private static string? Value(HttpContext http, string name) => http.Request.RouteValues.TryGetValue(name, out var value) ? value?.ToString() : null;
}
