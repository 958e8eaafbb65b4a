using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Pages.Audit;
using AspireBatch.Dashboard.Formatting;
using MudBlazor;

namespace AspireBatch.Dashboard.Tests;

/// <summary>
/// The Audit page reads GET /api/audit a page at a time, with the filters in the query; a row opens its before and
/// after side by side with the values that changed marked; a live "audit" event reloads it.
/// </summary>
public sealed class AuditPageTests : DashboardContext
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly Guid ProviderId = Guid.Parse("019ad9b0-0000-7000-8000-000000000002");
    private static readonly Guid RouteId = Guid.Parse("019ad9b0-0000-7000-8000-000000000003");

    private static readonly AuditEntryDto ProviderUpdate = new(12, T0.AddMinutes(5), "api-key (AppHost)", "admin", "UpdateProvider", AuditResourceTypes.Provider,
        ProviderId.ToString(),
        Json("""{"name":"deepseek","apiKey":"***","requestsPerMinute":null,"models":[{"name":"deepseek-chat","inputPricePerMTok":0.27}]}"""),
        Json("""{"name":"deepseek","apiKey":"***","requestsPerMinute":100,"models":[{"name":"deepseek-chat","inputPricePerMTok":0.30}]}"""));

    private static readonly AuditEntryDto Rollback = new(11, T0, "system", "admin", "AutomaticRollback", AuditResourceTypes.Route, RouteId.ToString(),
        Json("""{"activeTargetPosition":0,"activeTarget":"sim-primary/deepseek-chat"}"""),
        Json("""{"activeTargetPosition":1,"activeTarget":"sim-fallback/deepseek-chat","reason":"automatic rollback: mean latency"}"""));

    [Fact]
    public async Task Rows_show_who_did_what_and_a_row_opens_its_before_and_after_with_the_changes_marked()
    {
        var entries = new List<AuditEntryDto> { ProviderUpdate, Rollback };
        var api = new StubApi().Answer("/api/audit", request => Page(request, entries)).Use(Services);
        Render<MudPopoverProvider>();
        var dialogs = Render<MudDialogProvider>();
        var page = Render<Audit>();

        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=audit-row]").Count));
        Assert.Contains(api.Requests, r => r.PathAndQuery == "/api/audit?page=1&pageSize=50");
        Assert.Equal(["api-key (AppHost)", "system"], page.FindAll("[data-testid=audit-row-actor]").Select(e => e.TextContent));
        Assert.Equal(["UpdateProvider", "AutomaticRollback"], page.FindAll("[data-testid=audit-row-action]").Select(e => e.TextContent));
        Assert.Equal(["requestsPerMinute, models", "activeTargetPosition, activeTarget, reason"], page.FindAll("[data-testid=audit-row-changes]").Select(e => e.TextContent));
        // Times are the browser's (UTC until it answers).
        Assert.Contains("2026-12-01 12:05:00", page.Find("[data-testid=audit-row]").TextContent);

        page.FindAll("[data-testid=audit-row-show]")[0].Click();
        dialogs.WaitForAssertion(() => Assert.NotNull(dialogs.Find("[data-testid=audit-after]")));
        Assert.Equal("Changed: requestsPerMinute, models", dialogs.Find("[data-testid=audit-changed-properties]").TextContent);
        var before = dialogs.Find("[data-testid=audit-before]");
        var after = dialogs.Find("[data-testid=audit-after]");
        Assert.Equal(["requestsPerMinute", "models[0].inputPricePerMTok"], before.QuerySelectorAll("[data-changed=true]").Select(e => e.GetAttribute("data-path")));
        Assert.Equal(["requestsPerMinute", "models[0].inputPricePerMTok"], after.QuerySelectorAll("[data-changed=true]").Select(e => e.GetAttribute("data-path")));
        Assert.Contains("\"requestsPerMinute\": null,", before.TextContent);
        Assert.Contains("\"requestsPerMinute\": 100,", after.TextContent);
        Assert.Contains("\"apiKey\": \"***\"", after.TextContent);
        Assert.Contains(ProviderId.ToString(), dialogs.Find("[data-testid=audit-dialog-resource]").TextContent);
        dialogs.Find("[data-testid=audit-dialog-close]").Click();
        dialogs.WaitForAssertion(() => Assert.Empty(dialogs.FindAll("[data-testid=audit-dialog]")));

        // A new row arrives: the live event reloads the grid.
        entries.Insert(0, ProviderUpdate with { Id = 13, Action = "DeleteProvider", After = null });
        await api.Live.PublishAsync(new LiveEvent(LiveEvent.Audit, null, null, DateTimeOffset.UtcNow));
        page.WaitForAssertion(() => Assert.Equal(3, page.FindAll("[data-testid=audit-row]").Count));
        Assert.Equal("deleted", page.FindAll("[data-testid=audit-row-changes]")[0].TextContent);
    }

    [Fact]
    public async Task Filters_go_to_the_api_in_the_query()
    {
        var api = new StubApi().Answer("/api/audit", request => Page(request, [ProviderUpdate, Rollback])).Use(Services);
        Render<MudPopoverProvider>();
        var page = Render<Audit>();
        page.WaitForAssertion(() => Assert.Equal(2, page.FindAll("[data-testid=audit-row]").Count));

        var type = page.FindComponent<MudSelect<string>>();
        await page.InvokeAsync(() => type.Instance.ValueChanged.InvokeAsync(AuditResourceTypes.Route));
        page.WaitForAssertion(() => Assert.Single(page.FindAll("[data-testid=audit-row]")));
        Assert.Equal("AutomaticRollback", page.Find("[data-testid=audit-row-action]").TextContent);
        Assert.Contains(api.Requests, r => r.Query == "?page=1&pageSize=50&resourceType=route");

        await page.InvokeAsync(() => page.Find("[data-testid=audit-filter-actor]").Input("  system "));
        page.WaitForAssertion(() => Assert.Contains(api.Requests, r => r.Query == "?page=1&pageSize=50&resourceType=route&actor=system"), TimeSpan.FromSeconds(5));
        await page.InvokeAsync(() => page.Find("[data-testid=audit-filter-action]").Input("Rollback"));
        page.WaitForAssertion(() => Assert.Contains(api.Requests, r => r.Query == "?page=1&pageSize=50&resourceType=route&actor=system&action=Rollback"), TimeSpan.FromSeconds(5));

        await page.InvokeAsync(() => type.Instance.ValueChanged.InvokeAsync(AuditResourceTypes.Key));
        page.WaitForAssertion(() => Assert.NotNull(page.Find("[data-testid=audit-empty]")));
    }

    [Fact]
    public void The_diff_marks_values_changed_added_and_removed_by_path()
    {
        var before = Json("""{"name":"r","targets":[{"weight":90},{"weight":10}],"old":1,"same":{"a":[]}}""");
        var after = Json("""{"name":"r","targets":[{"weight":90},{"weight":0}],"new":true,"same":{"a":[]}}""");

        var changed = JsonDiff.ChangedPaths(before, after);

        // In the order they come: before's changed and removed values, then what after added.
        Assert.Equal(["targets[1].weight", "old", "new"], changed);
        Assert.Equal(["targets", "old", "new"], JsonDiff.ChangedProperties(changed));
        var lines = JsonDiff.Lines(after, changed);
        Assert.Equal("{", lines[0].Text);
        Assert.Equal("      \"weight\": 0", Assert.Single(lines, l => l.Changed && l.Path == "targets[1].weight").Text);
        Assert.Equal("  \"same\": {", lines.Single(l => l.Text.Contains("same")).Text);
        Assert.Equal("    \"a\": []", lines.Single(l => l.Path == "same.a").Text);
        Assert.Equal("}", lines[^1].Text);
        // A creation or a deletion marks nothing: everything is new, or gone.
        Assert.Empty(JsonDiff.ChangedPaths(null, after));
        Assert.Empty(JsonDiff.ChangedPaths(before, null));
    }

    /// <summary>The entries the query asks for, as GET /api/audit filters them.</summary>
    private static PagedResult<AuditEntryDto> Page(HttpRequestMessage request, IReadOnlyList<AuditEntryDto> entries)
    {
        var query = System.Web.HttpUtility.ParseQueryString(request.RequestUri!.Query);
        var items = entries.Where(e => query["resourceType"] is not { } type || e.ResourceType == type)
            .Where(e => query["actor"] is not { } actor || e.Actor.Contains(actor, StringComparison.OrdinalIgnoreCase))
            .Where(e => query["action"] is not { } action || e.Action.Contains(action, StringComparison.OrdinalIgnoreCase))
            .ToList();
        return new PagedResult<AuditEntryDto>(items, int.Parse(query["page"] ?? "1"), int.Parse(query["pageSize"] ?? "50"), items.Count);
    }

    private static JsonElement Json(string text)
    {
        using var document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
