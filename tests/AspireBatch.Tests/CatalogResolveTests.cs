using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>
/// GET /api/catalog/resolve answers what a job naming a route, an alias or a model would run on, from the resolver the
/// import uses: a job created with the same name runs on what the answer said.
/// </summary>
public sealed class CatalogResolveTests(StackFixture stack)
{
    [Fact]
    public async Task A_route_resolves_to_its_targets_in_order_and_a_job_runs_on_the_active_one()
    {
        var name = $"resolve-{Guid.NewGuid().ToString("N")[..6]}";
        var route = await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(name,
            [new RouteTargetRequest("sim-primary", "gpt-4.1"), new RouteTargetRequest("sim-fallback", "claude-sonnet-4-5")]));
        Assert.True(route.IsSuccessStatusCode, await route.Content.ReadAsStringAsync());

        var resolved = await ResolveAsync(name);
        Assert.Equal((name, NameKinds.Route, "sim-primary", "gpt-4.1"), (resolved.Name, resolved.Kind, resolved.ProviderName, resolved.ModelName));
        Assert.Equal((8m, 8m), (resolved.InputPricePerMTok, resolved.OutputPricePerMTok));
        Assert.Equal(
            [new ResolvedRouteTarget(0, "sim-primary", "gpt-4.1", true, 8m, 8m), new ResolvedRouteTarget(1, "sim-fallback", "claude-sonnet-4-5", false, 15m, 15m)],
            resolved.RouteTargets);
        await AssertAJobRunsOnAsync(resolved, expectedRoute: name);
    }

    [Fact]
    public async Task An_alias_resolves_to_the_model_it_points_at()
    {
        var resolved = await ResolveAsync("gpt-4");
        Assert.Equal((NameKinds.Alias, "gpt-4.1"), (resolved.Kind, resolved.ModelName));
        Assert.Contains(resolved.ProviderName, new[] { "sim-primary", "sim-fallback" });
        Assert.Equal((8m, 8m), (resolved.InputPricePerMTok, resolved.OutputPricePerMTok));
        Assert.Empty(resolved.RouteTargets);
        await AssertAJobRunsOnAsync(resolved, expectedRoute: null);
    }

    [Fact]
    public async Task A_model_resolves_to_its_cheapest_enabled_provider()
    {
        var resolved = await ResolveAsync("claude-sonnet-4-5");
        Assert.Equal((NameKinds.Model, "claude-sonnet-4-5"), (resolved.Kind, resolved.ModelName));
        var catalog = (await stack.Api.GetFromJsonAsync<CatalogDto>("/api/catalog", StackFixture.Json))!;
        var cheapest = catalog.Models.Where(m => m.Name == "claude-sonnet-4-5").Min(m => m.InputPricePerMTok + m.OutputPricePerMTok);
        Assert.Equal(cheapest, resolved.InputPricePerMTok + resolved.OutputPricePerMTok);
        Assert.Contains(catalog.Models, m => m.Name == resolved.ModelName && m.Provider == resolved.ProviderName);
        await AssertAJobRunsOnAsync(resolved, expectedRoute: null);
    }

    [Fact]
    public async Task An_unknown_name_is_a_404_problem_that_lists_the_known_names()
    {
        var response = await stack.Api.GetAsync("/api/catalog/resolve?name=no-such-model-xyz");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("no-such-model-xyz", problem.RootElement.GetProperty("detail").GetString());
        Assert.Contains(problem.RootElement.GetProperty("knownModels").EnumerateArray(), n => n.GetString() == "gpt-4");
    }

    [Theory]
    [InlineData("/api/catalog/resolve")]
    [InlineData("/api/catalog/resolve?name=")]
    [InlineData("/api/catalog/resolve?name=%20%20")]
    public async Task An_empty_name_is_a_validation_problem(string uri)
    {
        var response = await stack.Api.GetAsync(uri);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty("name", out _), problem.RootElement.ToString());
    }

    private async Task<ResolvedName> ResolveAsync(string name)
    {
        var response = await stack.Api.GetAsync($"/api/catalog/resolve?name={Uri.EscapeDataString(name)}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"resolving {name}: {(int)response.StatusCode} {body}");
        return JsonSerializer.Deserialize<ResolvedName>(body, StackFixture.Json)!;
    }

    /// <summary>The import resolves the same name the same way: the job it creates names the same route, provider and model.</summary>
    private async Task AssertAJobRunsOnAsync(ResolvedName resolved, string? expectedRoute)
    {
        var created = await stack.Api.CreateAsync("resolve.jsonl", JobApiClient.Jsonl(1, i => new { id = i, text = "t" }),
            JobApiClient.Fields(resolved.Name, "Classify: {{text}}", ("startPaused", "true")));
        // A route's job keeps no provider of its own: its calls follow the route's active target.
        var provider = expectedRoute is null ? resolved.ProviderName : null;
        Assert.Equal((expectedRoute, provider, resolved.ModelName), (created.Job.RouteName, created.Job.ProviderName, created.Job.ModelName));
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/cancel", null)).EnsureSuccessStatusCode();
    }
}
