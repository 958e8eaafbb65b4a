using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Pages.Jobs.Components;

namespace AspireBatch.Dashboard.Tests;

/// <summary>The item drawer shows what providers really send, and the ledger's honesty marks, without breaking.</summary>
public sealed class ItemDetailViewTests : DashboardContext
{
    private const string NginxPage = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

    private static ItemDetailDto Item(ItemSummaryDto summary, string? body, params AttemptDto[] attempts) =>
        new(summary, """{"id":"r1","text":"hi"}""", """{"model":"m","messages":[]}""", null, body, null, null, 502, attempts);

    [Fact]
    public void An_html_error_page_is_shown_as_text_not_rendered()
    {
        var summary = new ItemSummaryDto(1, "r1", 2, ItemState.Failed, 5, "http_502", "the provider answered with an HTML page: 502 Bad Gateway",
            null, null, null, 12, "p", "m", DateTimeOffset.UtcNow);
        var view = Render<ItemDetailView>(p => p.Add(v => v.Item, Item(summary, NginxPage)));
        var response = view.Find("[data-testid=item-response]");
        Assert.Contains("<title>502 Bad Gateway</title>", response.TextContent);
        Assert.Empty(response.QuerySelectorAll("center"));
        Assert.Contains("http_502", view.Find("[data-testid=item-error]").TextContent);
    }

    [Fact]
    public void Estimated_usage_and_calls_in_doubt_are_marked()
    {
        var summary = new ItemSummaryDto(1, "r1", 2, ItemState.Succeeded, 3, null, null, 40, 2, 0.0001m, 12, "p", "m", DateTimeOffset.UtcNow,
            UsageSources.Estimated, InDoubtCalls: 2, InDoubtCostUsd: 0.004m);
        var attempts = new[]
        {
            new AttemptDto(1, "p", "m", null, LedgerCodes.Unknown, "the worker was lost", 0, 0, false, DateTimeOffset.UtcNow, PossibleCostUsd: 0.002m),
            new AttemptDto(2, "p", "m", 200, null, null, 12, 0, false, DateTimeOffset.UtcNow, 40, 2, 0.0001m, UsageSources.Estimated),
        };
        var view = Render<ItemDetailView>(p => p.Add(v => v.Item, Item(summary, """{"choices":[]}""", attempts)));
        Assert.NotNull(view.Find("[data-testid=usage-estimated]"));
        Assert.Contains("in doubt: 2 calls", view.Find("[data-testid=item-in-doubt]").TextContent);
        var costs = view.FindAll("[data-testid=attempt-cost]").Select(c => c.TextContent.Trim()).ToList();
        Assert.StartsWith("up to", costs[0]);
        Assert.EndsWith("(est.)", costs[1]);
    }

    [Fact]
    public void The_lineage_section_names_where_the_result_came_from()
    {
        var jobId = Guid.CreateVersion7();
        var summary = new ItemSummaryDto(1, "r1", 2, ItemState.Succeeded, 6, null, null, 40, 2, 0.0001m, 12, "sim-primary", "deepseek-chat", DateTimeOffset.UtcNow,
            UsageSources.Reported);
        var lineage = new ItemLineageDto(jobId, "0123456789abcdef", "fedcba9876543210", "default", 1, "sim-primary", "default", "deepseek-chat",
            "deepseek-chat-sim", "chatcmpl-abc", 6, UsageSources.Reported);
        var item = Item(summary, """{"id":"chatcmpl-abc"}""") with { Lineage = lineage };
        var view = Render<ItemDetailView>(p => p.Add(v => v.Item, item));
        string Value(string key) => view.Find($"[data-testid=lineage-{key}]").TextContent.Trim();
        Assert.Equal(jobId.ToString(), Value("job"));
        Assert.Equal("0123456789abcdef", Value("template-hash"));
        Assert.Equal("fedcba9876543210", Value("parameters-hash"));
        Assert.Equal(("default", "1", "sim-primary"), (Value("route"), Value("route-position"), Value("provider")));
        Assert.Equal(("default", "deepseek-chat-sim", "chatcmpl-abc"), (Value("requested-model"), Value("response-model"), Value("response-id")));
        Assert.Equal(("6", UsageSources.Reported), (Value("attempt"), Value("usage-source")));
    }

    [Fact]
    public void A_single_model_result_shows_no_route()
    {
        var summary = new ItemSummaryDto(1, "r1", 2, ItemState.Failed, 1, "http_404", "no such model", null, null, null, 12, "p", "m", DateTimeOffset.UtcNow);
        var item = Item(summary, null) with { Lineage = new ItemLineageDto(Guid.CreateVersion7(), null, null, null, null, "p", "m", "m", null, null, 1, null) };
        var view = Render<ItemDetailView>(p => p.Add(v => v.Item, item));
        Assert.Equal("—", view.Find("[data-testid=lineage-route]").TextContent.Trim());
        Assert.Equal("—", view.Find("[data-testid=lineage-route-position]").TextContent.Trim());
        Assert.Equal("1", view.Find("[data-testid=lineage-attempt]").TextContent.Trim());
    }
}
