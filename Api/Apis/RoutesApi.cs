using AspireBatch.Api.Services.Access;
using AspireBatch.Api.Infrastructure;
using System.Text.Json;
using AspireBatch.Api.Services;
using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Entities;
using AspireBatch.Data.Live;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Route = AspireBatch.Data.Entities.Route;

namespace AspireBatch.Api.Apis;

public static class RoutesApi
{
    public static RouteGroupBuilder MapRoutesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").WithTags("Routes and rollback").RequireAdminToChange().Audited(AuditResourceTypes.Route, AuditSnapshots.Route)
            .AnnouncesChanges((live, request) => live.RouteChangedAsync(request.RouteValues.TryGetValue("id", out var id) && Guid.TryParse(id as string, out var routeId) ? routeId : null));
        api.MapGet("/routes", ListRoutes).WithName("ListRoutes").WithSummary("Routes with their ordered targets, active target and rollback thresholds");
        api.MapGet("/routes/{id:guid}", GetRoute).WithName("GetRoute").WithSummary("A route with its ordered targets, active target and rollback thresholds");
        api.MapPost("/routes", CreateRoute).WithName("CreateRoute")
            .WithSummary("A named route: ordered targets (provider + model); the first is active, the next ones are fallbacks")
            .WithDescription("Example body: {\"name\":\"reviews\",\"targets\":[{\"provider\":\"deepseek\",\"model\":\"deepseek-chat\"},{\"provider\":\"openai\",\"model\":\"gpt-4.1\"}]}");
        api.MapPut("/routes/{id:guid}", UpdateRoute).WithName("UpdateRoute").WithSummary("Replace a route's name and targets, and its thresholds when given");
        api.MapDelete("/routes/{id:guid}", DeleteRoute).WithName("DeleteRoute").WithSummary("Delete a route that no job uses");
        api.MapPost("/routes/{id:guid}/rollback", Rollback).WithName("RollbackRoute").AlsoAllows(ApiScopes.RouteSwitch).WithSummary("Move the active target to the next one (or toPosition), with a reason");
        api.MapPost("/routes/{id:guid}/rollforward", RollForward).WithName("RollForwardRoute").AlsoAllows(ApiScopes.RouteSwitch).WithSummary("Move the active target back to the previous one (or toPosition), with a reason");
        api.MapGet("/routes/{id:guid}/window", Window).WithName("GetRouteWindow").WithSummary("The active target's sliding-window figures beside the thresholds");
        api.MapGet("/routes/{id:guid}/targets/window", TargetsWindow).WithName("GetRouteTargetsWindow")
            .WithSummary("Every target's sliding-window figures, weight, share of the route's calls and effective thresholds");
        api.MapGet("/routes/{id:guid}/events", RouteEvents).WithName("ListRouteEvents").WithSummary("Every switch of the route, newest first");
        api.MapGet("/rollbacks", RecentEvents).WithName("ListRollbacks").WithSummary("Recent switches of every route");
        return api;
    }

    public static async Task<Ok<List<RouteDto>>> ListRoutes(BatchDbContext db, CancellationToken cancellationToken)
    {
        var routes = await db.Routes.AsNoTracking().Include(r => r.Targets).ThenInclude(t => t.Provider).OrderBy(r => r.Name).ToListAsync(cancellationToken);
        return TypedResults.Ok(routes.Select(ToDto).ToList());
    }

    public static async Task<Results<Ok<RouteDto>, NotFound>> GetRoute(Guid id, BatchDbContext db, CancellationToken cancellationToken) =>
        await Load(db, id, cancellationToken) is { } route ? TypedResults.Ok(ToDto(route)) : TypedResults.NotFound();

    public static async Task<Results<Created<RouteDto>, ValidationProblem, ProblemHttpResult>> CreateRoute(
        RouteRequest request, BatchDbContext db, TimeProvider time, CancellationToken cancellationToken)
    {
        var (targets, errors) = await ResolveTargets(request, db, cancellationToken);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        if (await db.Routes.AnyAsync(r => r.Name == request.Name, cancellationToken))
        {
            return TypedResults.Problem($"a route named \"{request.Name}\" exists", statusCode: 409, title: "Conflict");
        }
        var route = new Route { Id = Guid.CreateVersion7(), Name = request.Name, CreatedAt = time.GetUtcNow(), Targets = targets };
        RouteJudge.Apply(route, request.Thresholds ?? new RouteThresholds());
        db.Routes.Add(route);
        await db.SaveChangesAsync(cancellationToken);
        return TypedResults.Created($"/api/routes/{route.Id}", ToDto((await Load(db, route.Id, cancellationToken))!));
    }

    public static async Task<Results<Ok<RouteDto>, NotFound, ValidationProblem>> UpdateRoute(
        Guid id, RouteRequest request, BatchDbContext db, RouteSwitcher switcher, TimeProvider time, CancellationToken cancellationToken)
    {
        var route = await db.Routes.Include(r => r.Targets).ThenInclude(t => t.Provider).FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
        if (route is null)
        {
            return TypedResults.NotFound();
        }
        var (targets, errors) = await ResolveTargets(request, db, cancellationToken);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }
        var before = route.Targets.Select(t => new WeightedTarget(t.Position, t.ProviderId, RouteSwitcher.Describe(t), t.Weight)).ToList();
        var activeBefore = route.ActiveTargetPosition;
        var activeAfter = Math.Min(route.ActiveTargetPosition, targets.Count - 1);
        var providerIds = targets.Select(t => t.ProviderId).Distinct().ToList();
        var names = await db.Providers.AsNoTracking().Where(p => providerIds.Contains(p.Id)).ToDictionaryAsync(p => p.Id, p => p.Name, cancellationToken);
        var after = targets.Select(t => new WeightedTarget(t.Position, t.ProviderId, $"{names.GetValueOrDefault(t.ProviderId)}/{t.ModelName}", t.Weight)).ToList();
        var events = RouteSwitcher.WeightChanges(id, before, activeBefore, after, activeAfter, time.GetUtcNow());
        // The new targets, their weights and the record of the weights changed commit together.
        await db.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            db.RouteTargets.RemoveRange(route.Targets);
            await db.SaveChangesAsync(cancellationToken);
            route.Name = request.Name;
            // Added explicitly: found through the navigation with their ids already set, EF would take them for
            // existing rows and update them (0 rows, a concurrency exception).
            db.RouteTargets.AddRange(targets);
            route.Targets = targets;
            route.ActiveTargetPosition = activeAfter;
            RouteJudge.Apply(route, request.Thresholds ?? RouteJudge.ThresholdsOf(route));
            db.RollbackEvents.AddRange(events);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
        });
        foreach (var e in events)
        {
            await switcher.AnnounceAsync(new RouteSwitchAnnouncement(route.Name, id, e.FromTarget, e.ToTarget, e.FromPosition, e.ToPosition, e.Reason,
                Automatic: false, JsonDocument.Parse(e.Figures!).RootElement.Clone(), e.CreatedAt, e.Kind), cancellationToken);
        }
        return TypedResults.Ok(ToDto((await Load(db, id, cancellationToken))!));
    }

    public static async Task<Results<NoContent, NotFound, ProblemHttpResult>> DeleteRoute(Guid id, BatchDbContext db, CancellationToken cancellationToken)
    {
        if (await db.Jobs.AnyAsync(j => j.RouteId == id, cancellationToken))
        {
            return TypedResults.Problem("jobs use this route; it cannot be deleted", statusCode: 409, title: "Conflict");
        }
        return await db.Routes.Where(r => r.Id == id).ExecuteDeleteAsync(cancellationToken) > 0 ? TypedResults.NoContent() : TypedResults.NotFound();
    }

    public static Task<Results<Ok<RouteDto>, NotFound, ProblemHttpResult, ValidationProblem>> Rollback(Guid id, RouteSwitchRequest request, BatchDbContext db, RouteSwitcher switcher, CancellationToken cancellationToken) =>
        Switch(id, request, +1, db, switcher, cancellationToken);

    public static Task<Results<Ok<RouteDto>, NotFound, ProblemHttpResult, ValidationProblem>> RollForward(Guid id, RouteSwitchRequest request, BatchDbContext db, RouteSwitcher switcher, CancellationToken cancellationToken) =>
        Switch(id, request, -1, db, switcher, cancellationToken);

    public static async Task<Ok<List<RollbackEventDto>>> RouteEvents(Guid id, BatchDbContext db, CancellationToken cancellationToken, int limit = 100) =>
        TypedResults.Ok(await EventsQuery(db, db.RollbackEvents.Where(e => e.RouteId == id), Math.Clamp(limit, 1, 1000), cancellationToken));

    public static async Task<Ok<List<RollbackEventDto>>> RecentEvents(BatchDbContext db, CancellationToken cancellationToken, int limit = 20) =>
        TypedResults.Ok(await EventsQuery(db, db.RollbackEvents, Math.Clamp(limit, 1, 1000), cancellationToken));

    private static async Task<Results<Ok<RouteDto>, NotFound, ProblemHttpResult, ValidationProblem>> Switch(
        Guid id, RouteSwitchRequest request, int direction, BatchDbContext db, RouteSwitcher switcher, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Reason))
        {
            return Invalid.Field("reason", "a reason is required: it is kept in the route's history");
        }
        var route = await Load(db, id, cancellationToken);
        if (route is null)
        {
            return TypedResults.NotFound();
        }
        var to = request.ToPosition ?? route.ActiveTargetPosition + direction;
        var outcome = await switcher.SwitchAsync(id, route.ActiveTargetPosition, to, request.Reason, automatic: false,
            new { manual = true, direction = to > route.ActiveTargetPosition ? "rollback" : "rollforward" }, cancellationToken);
        return outcome.Event is null
            ? TypedResults.Problem(outcome.Problem, statusCode: 409, title: "Conflict")
            : TypedResults.Ok(ToDto((await Load(db, id, cancellationToken))!));
    }

    public static async Task<Results<Ok<RouteWindowDto>, NotFound>> Window(Guid id, BatchDbContext db, TargetWindow window, CancellationToken cancellationToken)
    {
        var route = await Load(db, id, cancellationToken);
        if (route is null || route.Targets.OrderBy(t => t.Position).ElementAtOrDefault(route.ActiveTargetPosition) is not { } active)
        {
            return TypedResults.NotFound();
        }
        var figures = await window.ReadAsync(active.ProviderId, active.ModelName, route.WindowSeconds, route.SwitchedAt);
        // The active target is judged on its own thresholds where it has them, as the monitor does.
        var thresholds = RouteJudge.ThresholdsOf(route, active);
        return TypedResults.Ok(new RouteWindowDto(id, Describe(active), figures.Calls, figures.Errors, figures.ErrorRate, figures.SuccessRate,
            figures.MeanLatencyMs, figures.P95LatencyMs, figures.WindowSeconds, thresholds, RouteJudge.HasEnoughCalls(figures, thresholds), RouteJudge.Breach(figures, thresholds)));
    }

    /// <summary>
    /// Every target on the window the monitor judges it on: since the last switch, and for canaries since the last
    /// change of weights too. The share is of all the calls shown (fallback calls count where they were made).
    /// </summary>
    public static async Task<Results<Ok<RouteTargetsWindowDto>, NotFound>> TargetsWindow(Guid id, BatchDbContext db, TargetWindow window, CancellationToken cancellationToken)
    {
        var route = await Load(db, id, cancellationToken);
        if (route is null)
        {
            return TypedResults.NotFound();
        }
        var canarySince = await RouteSwitcher.CanaryWindowStartAsync(db, route, cancellationToken);
        var rows = new List<(RouteTarget Target, RouteTargetRole Role, DateTimeOffset? Since, WindowFigures Figures)>();
        foreach (var target in route.Targets.OrderBy(t => t.Position))
        {
            var role = RouteJudge.RoleOf(route, target);
            var since = role == RouteTargetRole.Canary ? canarySince : route.SwitchedAt;
            rows.Add((target, role, since, await window.ReadAsync(target.ProviderId, target.ModelName, route.WindowSeconds, since)));
        }
        var total = rows.Sum(r => r.Figures.Calls);
        var targets = rows.Select(r =>
        {
            var (target, role, since, f) = r;
            var thresholds = RouteJudge.ThresholdsOf(route, target);
            return new RouteTargetWindowDto(target.Position, target.Provider?.Name ?? "?", target.ModelName, target.Weight, role,
                f.Calls, f.Errors, f.ErrorRate, f.SuccessRate, f.MeanLatencyMs, f.P95LatencyMs, total == 0 ? 0 : (double)f.Calls / total,
                thresholds, since, RouteJudge.HasEnoughCalls(f, thresholds), RouteJudge.Breach(f, thresholds));
        }).ToList();
        return TypedResults.Ok(new RouteTargetsWindowDto(id, route.ActiveTargetPosition, RouteJudge.IsWeighted(route), route.WindowSeconds, total, targets));
    }

    private static async Task<List<RollbackEventDto>> EventsQuery(BatchDbContext db, IQueryable<RollbackEvent> query, int limit, CancellationToken cancellationToken)
    {
        var names = await db.Routes.AsNoTracking().ToDictionaryAsync(r => r.Id, r => r.Name, cancellationToken);
        var events = await query.AsNoTracking().OrderByDescending(e => e.Id).Take(limit).ToListAsync(cancellationToken);
        return events.Select(e => new RollbackEventDto(e.Id, e.RouteId, names.GetValueOrDefault(e.RouteId, "?"), e.FromPosition, e.ToPosition,
            e.FromTarget, e.ToTarget, e.Reason, e.Automatic, e.Figures, e.CreatedAt, e.Kind)).ToList();
    }

    private static async Task<(List<RouteTarget> Targets, Dictionary<string, string[]> Errors)> ResolveTargets(RouteRequest request, BatchDbContext db, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 100)
        {
            errors["name"] = ["a name of 1 to 100 characters is required"];
        }
        if (request.Targets is not { Count: > 0 })
        {
            errors["targets"] = ["at least one target (provider + model) is required"];
            return ([], errors);
        }
        var providers = await db.Providers.AsNoTracking().Include(p => p.Models).ToListAsync(cancellationToken);
        var targets = new List<RouteTarget>();
        var problems = new List<string>();
        foreach (var (target, position) in request.Targets.Select((t, i) => (t, i)))
        {
            var provider = providers.FirstOrDefault(p => p.Name == target.Provider);
            if (provider is null)
            {
                problems.Add($"target {position}: no provider named \"{target.Provider}\"");
            }
            else if (provider.Models.All(m => m.Name != target.Model))
            {
                problems.Add($"target {position}: {provider.Name} has no model \"{target.Model}\" (it has {string.Join(", ", provider.Models.Select(m => m.Name))})");
            }
            else
            {
                targets.Add(new RouteTarget
                {
                    Id = Guid.CreateVersion7(), Position = position, ProviderId = provider.Id, ModelName = target.Model, Weight = target.Weight ?? 0,
                    MaxErrorRate = target.MaxErrorRate, MaxMeanLatencyMs = target.MaxMeanLatencyMs, MinSuccessRate = target.MinSuccessRate,
                });
            }
            foreach (var (field, problem) in TargetProblems(target))
            {
                errors[$"targets[{position}].{field}"] = [problem];
            }
        }
        if (problems.Count > 0)
        {
            errors["targets"] = problems.ToArray();
        }
        var t = request.Thresholds;
        if (t is not null && RouteJudge.Invalid(t) is { } invalid)
        {
            errors["thresholds"] = [invalid];
        }
        return (targets, errors);
    }

    /// <summary>A target's weight and own thresholds, each checked apart so the answer names the field.</summary>
    private static IEnumerable<(string Field, string Problem)> TargetProblems(RouteTargetRequest target)
    {
        if (target.Weight is < 0 or > MaxWeight)
        {
            yield return ("weight", $"a weight is 0 to {MaxWeight} (a share of the route's traffic; 0 = fallback only)");
        }
        if (target.MaxErrorRate is { } error && !(error is >= 0 and <= 1))
        {
            yield return ("maxErrorRate", "a rate is 0 to 1");
        }
        if (target.MinSuccessRate is { } success && !(success is >= 0 and <= 1))
        {
            yield return ("minSuccessRate", "a rate is 0 to 1");
        }
        if (target.MaxMeanLatencyMs is { } latency && !(latency > 0 && double.IsFinite(latency)))
        {
            yield return ("maxMeanLatencyMs", "a latency is a positive number of milliseconds");
        }
    }

    public const int MaxWeight = 1000;

    internal static Task<Route?> Load(BatchDbContext db, Guid id, CancellationToken cancellationToken) =>
        db.Routes.AsNoTracking().Include(r => r.Targets).ThenInclude(t => t.Provider).FirstOrDefaultAsync(r => r.Id == id, cancellationToken);

    private static string Describe(RouteTarget target) => $"{target.Provider?.Name}/{target.ModelName}";

    public static RouteDto ToDto(Route r) => new(r.Id, r.Name, r.ActiveTargetPosition,
        r.Targets.OrderBy(t => t.Position).Select(t => new RouteTargetDto(t.Position, t.ProviderId, t.Provider?.Name ?? "?", t.ModelName,
            t.Weight, t.MaxErrorRate, t.MaxMeanLatencyMs, t.MinSuccessRate)).ToList(),
        RouteJudge.ThresholdsOf(r), r.CreatedAt, r.SwitchedAt);
}
