using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireBatch.Data.Live;

public sealed class RollbackOptions
{
    /// <summary>Where every switch of a route is announced (JSON POST); none when empty.</summary>
    public string? WebhookUrl { get; set; }
}

/// <summary>What the webhook receives for every switch, automatic or manual.</summary>
public sealed record RouteSwitchAnnouncement(string Route, Guid RouteId, string From, string To, int FromPosition, int ToPosition,
    string Reason, bool Automatic, JsonElement? Figures, DateTimeOffset Time, RouteEventKind Kind = RouteEventKind.Switch, Guid? RehearsalId = null);

public sealed record SwitchOutcome(RollbackEvent? Event, string? Problem);

/// <summary>
/// Moves a route's active target, records the switch with its reason and figures, announces it by webhook and to
/// the Dashboard. Used by the Worker's monitor (automatic) and the Api (an operator's hand).
/// </summary>
public sealed class RouteSwitcher(
    BatchDbContext db,
    IHttpClientFactory httpClients,
    IOptions<RollbackOptions> options,
    LivePublisher live,
    TimeProvider time,
    ILogger<RouteSwitcher> logger)
{
    public const string WebhookClient = "rollback-webhook";
    private static readonly ActivitySource Source = new("AspireBatch");

    /// <summary>Switches only if the route still has <paramref name="expectedFrom"/> active, so two deciders never both move it.</summary>
    public async Task<SwitchOutcome> SwitchAsync(Guid routeId, int expectedFrom, int to, string reason, bool automatic, object? figures, CancellationToken cancellationToken)
    {
        var route = await db.Routes.AsNoTracking().Include(r => r.Targets).ThenInclude(t => t.Provider).FirstOrDefaultAsync(r => r.Id == routeId, cancellationToken);
        if (route is null)
        {
            return new(null, "not found");
        }
        var targets = route.Targets.OrderBy(t => t.Position).ToList();
        if (to < 0 || to >= targets.Count || to == expectedFrom)
        {
            return new(null, $"the route has targets 0 to {targets.Count - 1} and target {route.ActiveTargetPosition} is active; it cannot move to {to}");
        }
        using var activity = Source.StartActivity(automatic ? "route rollback" : "route switch");
        activity?.SetTag("aspirebatch.route", route.Name);
        activity?.SetTag("aspirebatch.route.from", expectedFrom);
        activity?.SetTag("aspirebatch.route.to", to);
        activity?.SetTag("aspirebatch.route.reason", reason);

        var now = time.GetUtcNow();
        var figuresJson = figures is null ? null : JsonSerializer.Serialize(figures);
        var entry = new RollbackEvent
        {
            RouteId = routeId,
            FromPosition = expectedFrom,
            ToPosition = to,
            FromTarget = Describe(targets[expectedFrom]),
            ToTarget = Describe(targets[to]),
            Reason = reason,
            Automatic = automatic,
            Figures = figuresJson,
            CreatedAt = now,
        };
        // The move and its record commit together: nobody sees a switch without its history.
        var moved = await db.Database.CreateExecutionStrategy().ExecuteAsync(async () =>
        {
            db.ChangeTracker.Clear();
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var count = await db.Routes.Where(r => r.Id == routeId && r.ActiveTargetPosition == expectedFrom)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.ActiveTargetPosition, to).SetProperty(r => r.SwitchedAt, now), cancellationToken);
            if (count == 0)
            {
                return false;
            }
            db.RollbackEvents.Add(entry);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return true;
        });
        if (!moved)
        {
            return new(null, "the route's active target changed meanwhile; reload and try again");
        }
        logger.LogWarning("Route {Route} switched from {From} to {To} ({Kind}): {Reason}", route.Name, entry.FromTarget, entry.ToTarget, automatic ? "automatic" : "manual", reason);

        await AnnounceAsync(new RouteSwitchAnnouncement(route.Name, routeId, entry.FromTarget, entry.ToTarget, expectedFrom, to, reason, automatic,
            figuresJson is null ? null : JsonDocument.Parse(figuresJson).RootElement.Clone(), now), cancellationToken);
        return new(entry, null);
    }

    /// <summary>Tells the Dashboard and the webhook of a change of a route, whoever made it (a switch, a canary stopped, an adoption).</summary>
    public async Task AnnounceAsync(RouteSwitchAnnouncement announcement, CancellationToken cancellationToken)
    {
        await live.RouteChangedAsync(announcement.RouteId);
        if (string.IsNullOrWhiteSpace(options.Value.WebhookUrl))
        {
            return;
        }
        try
        {
            using var response = await httpClients.CreateClient(WebhookClient).PostAsJsonAsync(options.Value.WebhookUrl, announcement, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                logger.LogWarning("The rollback webhook answered {Status} for route {Route}", (int)response.StatusCode, announcement.Route);
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            logger.LogWarning(e, "The rollback webhook could not be reached for route {Route}", announcement.Route);
        }
    }

    private static string Describe(RouteTarget target) => $"{target.Provider?.Name}/{target.ModelName}";
}
