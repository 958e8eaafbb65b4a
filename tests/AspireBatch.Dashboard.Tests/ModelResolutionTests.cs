using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Pages.Jobs;
using MudBlazor;

namespace AspireBatch.Dashboard.Tests;

/// <summary>The New job page does not resolve names itself: it asks the Api (GET /api/catalog/resolve) and shows the answer.</summary>
public sealed class ModelResolutionTests : DashboardContext
{
    [Fact]
    public void A_route_an_alias_and_a_model_are_explained_from_the_apis_answer()
    {
        Assert.Equal("route: sim-primary/deepseek-chat $0.42/$0.42 per M (active), then sim-fallback/gpt-4.1",
            NewJob.Explain(new ResolvedName("default", NameKinds.Route, "sim-primary", "deepseek-chat", 0.42m, 0.42m,
                [new ResolvedRouteTarget(0, "sim-primary", "deepseek-chat", true, 0.42m, 0.42m), new ResolvedRouteTarget(1, "sim-fallback", "gpt-4.1", false, null, null)])));
        Assert.Equal("alias of gpt-4.1: openai $2/$8 per M", NewJob.Explain(new ResolvedName("gpt-4", NameKinds.Alias, "openai", "gpt-4.1", 2m, 8m, [])));
        Assert.Equal("deepseek $0.27/$1.1 per M", NewJob.Explain(new ResolvedName("deepseek-chat", NameKinds.Model, "deepseek", "deepseek-chat", 0.27m, 1.10m, [])));
    }

    [Fact]
    public async Task Typing_a_name_asks_the_api_what_it_resolves_to()
    {
        // Only gpt-4 resolves: any other name is the Api's 404.
        var api = new StubApi()
            .Answer("/api/catalog", _ => new CatalogDto([new CatalogModelDto("gpt-4.1", "sim-primary", 8m, 8m)], [new ModelAliasDto("gpt-4", "gpt-4.1")], ["default"]))
            .Answer("/api/catalog/resolve?name=gpt-4", _ => new ResolvedName("gpt-4", NameKinds.Alias, "sim-primary", "gpt-4.1", 8m, 8m, []))
            .Use(Services);
        Render<MudPopoverProvider>();
        var page = Render<NewJob>();
        page.WaitForAssertion(() => Assert.Contains("1 routes", page.Markup));

        // Found and typed on the renderer's thread: a re-render between the two (the catalog arriving) would leave a stale handler.
        await page.InvokeAsync(() => page.Find("[data-testid=model-select]").Input("gpt-4"));
        page.WaitForAssertion(() => Assert.Contains("alias of gpt-4.1: sim-primary $8/$8 per M", page.Markup), TimeSpan.FromSeconds(5));
        Assert.Contains(api.Requests, r => r.PathAndQuery == "/api/catalog/resolve?name=gpt-4");

        await page.InvokeAsync(() => page.Find("[data-testid=model-select]").Input("nope"));
        page.WaitForAssertion(() => Assert.Contains("not a known model, alias or route", page.Markup), TimeSpan.FromSeconds(5));
    }
}
