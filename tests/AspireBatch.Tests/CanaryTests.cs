using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>Canary by weight: a route splits its records across targets, and the monitor stops a canary that breaches.</summary>
public sealed class CanaryTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task A_90_10_route_sends_about_a_tenth_of_the_records_to_the_canary()
    {
        // Providers of their own: fresh windows and circuits, so nothing an earlier test did moves the split.
        var main = await CreateProviderAsync("main", stack.SimPrimary);
        var canary = await CreateProviderAsync("canary", stack.SimFallback);
        var route = await CreateRouteAsync("split", [new(main.Name, "deepseek-chat", 90), new(canary.Name, "deepseek-chat", 10)]);
        Assert.Equal([90, 10], route.Targets.Select(t => t.Weight));

        const int records = 400;
        var created = await stack.Api.CreateAsync("split.jsonl", JobApiClient.Jsonl(records, i => new { id = i, text = $"s{i}" }), JobApiClient.Fields(route.Name));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(records, job.Counters.Succeeded);

        var byProvider = await AnsweredByAsync(job.Id);
        var onCanary = byProvider.GetValueOrDefault(canary.Name);
        Assert.True(onCanary is >= records * 3 / 100 and <= records * 20 / 100,
            $"{onCanary} of {records} records on the canary; by provider: {string.Join(", ", byProvider)}");
        Assert.Equal(records, byProvider.GetValueOrDefault(main.Name) + onCanary);
        // No fault: every record answered by the target drawn for it, at the first call.
        Assert.Equal(0, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND fallback", ("job", job.Id)));

        var items = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Id}/items?pageSize=1000", StackFixture.Json))!;
        Assert.Equal([canary.Name, main.Name], items.Items.Select(i => i.ProviderName).Distinct().Order());

        var live = (await stack.Api.GetFromJsonAsync<RouteTargetsWindowDto>($"/api/routes/{route.Id}/targets/window", StackFixture.Json))!;
        Assert.True(live.Weighted);
        Assert.Equal(records, live.TotalCalls);
        Assert.Equal([(0, RouteTargetRole.Active, 90), (1, RouteTargetRole.Canary, 10)], live.Targets.Select(t => (t.Position, t.Role, t.Weight)));
        Assert.Equal(onCanary, live.Targets[1].Calls);
        Assert.Equal((double)onCanary / records, live.Targets[1].Share, 6);
        Assert.All(live.Targets, t => Assert.Null(t.Breach));
        Assert.Equal(new RouteThresholds(), live.Targets[0].Thresholds);
    }

    [Fact]
    public async Task A_failing_canary_is_stopped_recorded_announced_and_gets_no_more_records()
    {
        var main = await CreateProviderAsync("main", stack.SimPrimary);
        var canary = await CreateProviderAsync("canary", stack.SimFallback);
        // Every call to the canary's simulator fails; the canary has a stricter error threshold of its own.
        await Configure(stack.SimFallback, new { error500Rate = 1.0 });
        var route = await CreateRouteAsync("stop", [new(main.Name, "deepseek-chat", 90), new(canary.Name, "deepseek-chat", 10, MaxErrorRate: 0.02)],
            new RouteThresholds(EvaluationIntervalSeconds: 1, MinCalls: 5, WindowSeconds: 60));
        var created = await stack.Api.CreateAsync("stop.jsonl", JobApiClient.Jsonl(300, i => new { id = i, text = $"st{i}" }), JobApiClient.Fields(route.Name));

        RouteDto current;
        using (var wait = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
        {
            do
            {
                await Task.Delay(300, wait.Token);
                current = (await stack.Api.GetFromJsonAsync<RouteDto>($"/api/routes/{route.Id}", StackFixture.Json))!;
            }
            while (current.Targets[1].Weight != 0);
        }
        // Only the canary stopped: the main target stays active with its weight.
        Assert.Equal(0, current.ActiveTargetPosition);
        Assert.Equal(90, current.Targets[0].Weight);
        Assert.Equal(0.02, current.Targets[1].MaxErrorRate);

        var events = (await stack.Api.GetFromJsonAsync<List<RollbackEventDto>>($"/api/routes/{route.Id}/events", StackFixture.Json))!;
        var stop = Assert.Single(events);
        Assert.Equal(RouteEventKind.CanaryStopped, stop.Kind);
        Assert.True(stop.Automatic);
        Assert.StartsWith("canary stopped: error rate", stop.Reason);
        Assert.Equal((1, 0, $"{canary.Name}/deepseek-chat", $"{main.Name}/deepseek-chat"), (stop.FromPosition, stop.ToPosition, stop.FromTarget, stop.ToTarget));
        using (var figures = JsonDocument.Parse(stop.Figures!))
        {
            Assert.True(figures.RootElement.GetProperty("errorRate").GetDouble() > 0.02);
            Assert.True(figures.RootElement.GetProperty("calls").GetInt64() >= 5);
            Assert.Equal(10, figures.RootElement.GetProperty("weight").GetInt32());
            Assert.Equal(0.02, figures.RootElement.GetProperty("thresholds").GetProperty("MaxErrorRate").GetDouble());
        }
        // The stop is in the audit log as the system's: the canary's weight from 10 to 0.
        var audited = Assert.Single((await stack.Api.GetFromJsonAsync<PagedResult<AuditEntryDto>>($"/api/audit?resourceType=route&resourceId={route.Id}&actor=system", StackFixture.Json))!.Items);
        Assert.Equal("AutomaticCanaryStop", audited.Action);
        var stopped = audited.After!.Value;
        Assert.Equal((10, 0), (audited.Before!.Value.GetProperty("weight").GetInt32(), stopped.GetProperty("weight").GetInt32()));
        Assert.Equal($"{canary.Name}/deepseek-chat", stopped.GetProperty("target").GetString());
        var hook = await WaitForWebhookAsync(route.Name, "CanaryStopped");
        Assert.True(hook.GetProperty("automatic").GetBoolean());
        Assert.Equal(stop.Reason, hook.GetProperty("reason").GetString());
        Assert.Equal(1, hook.GetProperty("fromPosition").GetInt32());

        // Records that drew the canary fell back to the main target: none failed.
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(300, job.Counters.Succeeded);
        Assert.Equal(0, job.Counters.Failed);
        Assert.True(await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND provider_name = @canary", ("job", job.Id), ("canary", canary.Name)) > 0,
            "no record of the first job tried the canary");

        // Once the workers have the stop (they reload routes every 2 s), new records all go to the main target.
        await Task.Delay(TimeSpan.FromSeconds(3));
        var after = await stack.Api.CreateAsync("after.jsonl", JobApiClient.Jsonl(200, i => new { id = i, text = $"af{i}" }), JobApiClient.Fields(route.Name));
        var second = await stack.Api.WaitForStateAsync(after.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(200, second.Counters.Succeeded);
        Assert.Equal(0, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND provider_name <> @main", ("job", second.Id), ("main", main.Name)));
        Assert.Equal(new Dictionary<string, long> { [main.Name] = 200 }, await AnsweredByAsync(second.Id));

        var live = (await stack.Api.GetFromJsonAsync<RouteTargetsWindowDto>($"/api/routes/{route.Id}/targets/window", StackFixture.Json))!;
        Assert.Equal(RouteTargetRole.Fallback, live.Targets[1].Role);
        Assert.Equal(0.02, live.Targets[1].Thresholds.MaxErrorRate);
        // A fallback again, shown on the route's window: the calls that stopped it stay in sight until they age out.
        Assert.True(live.Targets[1].Calls >= 5);
        Assert.NotNull(live.Targets[1].Breach);
    }

    [Fact]
    public async Task Bad_weights_and_thresholds_are_refused_and_change_nothing()
    {
        var name = $"bad-{Suffix()}";
        var bad = new RouteRequest(name,
        [
            new RouteTargetRequest("sim-primary", "deepseek-chat", Weight: 1001, MaxErrorRate: 1.5),
            new RouteTargetRequest("sim-fallback", "deepseek-chat", Weight: -1, MaxMeanLatencyMs: 0, MinSuccessRate: -0.1),
        ]);
        var refused = await stack.Api.PostAsJsonAsync("/api/routes", bad);
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        var errors = problem.GetProperty("errors");
        foreach (var field in new[] { "targets[0].weight", "targets[0].maxErrorRate", "targets[1].weight", "targets[1].maxMeanLatencyMs", "targets[1].minSuccessRate" })
        {
            Assert.True(errors.TryGetProperty(field, out _), $"no error for {field}: {errors}");
        }
        var routes = (await stack.Api.GetFromJsonAsync<List<RouteDto>>("/api/routes", StackFixture.Json))!;
        Assert.DoesNotContain(routes, r => r.Name == name);

        var route = await CreateRouteAsync("valid", [new("sim-primary", "deepseek-chat", 90), new("sim-fallback", "deepseek-chat", 10)]);
        var update = await stack.Api.PutAsJsonAsync($"/api/routes/{route.Id}", bad with { Name = route.Name });
        Assert.Equal(HttpStatusCode.BadRequest, update.StatusCode);
        var unchanged = (await stack.Api.GetFromJsonAsync<RouteDto>($"/api/routes/{route.Id}", StackFixture.Json))!;
        Assert.Equal(route.Targets, unchanged.Targets);
        Assert.Empty((await stack.Api.GetFromJsonAsync<List<RollbackEventDto>>($"/api/routes/{route.Id}/events", StackFixture.Json))!);
    }

    [Fact]
    public async Task An_operators_weight_changes_are_in_the_routes_history()
    {
        var route = await CreateRouteAsync("manual", [new("sim-primary", "deepseek-chat", 90), new("sim-fallback", "deepseek-chat", 10)]);
        var request = new RouteRequest(route.Name, [new("sim-primary", "deepseek-chat", 80), new("sim-fallback", "deepseek-chat", 20, MinSuccessRate: 0.99)]);
        var raised = await stack.Api.PutAsJsonAsync($"/api/routes/{route.Id}", request);
        Assert.True(raised.IsSuccessStatusCode, await raised.Content.ReadAsStringAsync());
        var saved = (await raised.Content.ReadFromJsonAsync<RouteDto>(StackFixture.Json))!;
        Assert.Equal([80, 20], saved.Targets.Select(t => t.Weight));
        Assert.Equal(0.99, saved.Targets[1].MinSuccessRate);

        var stopped = await stack.Api.PutAsJsonAsync($"/api/routes/{route.Id}", request with { Targets = [new("sim-primary", "deepseek-chat", 80), new("sim-fallback", "deepseek-chat", 0)] });
        Assert.True(stopped.IsSuccessStatusCode, await stopped.Content.ReadAsStringAsync());

        var events = (await stack.Api.GetFromJsonAsync<List<RollbackEventDto>>($"/api/routes/{route.Id}/events", StackFixture.Json))!;
        // Newest first: the stop, then the two weights raised and lowered.
        Assert.Equal([RouteEventKind.CanaryStopped, RouteEventKind.Reweighted, RouteEventKind.Reweighted], events.Select(e => e.Kind));
        Assert.All(events, e => Assert.False(e.Automatic));
        Assert.Equal("canary stopped by an operator (weight 20 → 0)", events[0].Reason);
        await WaitForWebhookAsync(route.Name, "CanaryStopped");
        await WaitForWebhookAsync(route.Name, "Reweighted");
    }

    private sealed record Target(string Provider, string Model, int Weight, double? MaxErrorRate = null, double? MaxMeanLatencyMs = null, double? MinSuccessRate = null)
    {
        public static implicit operator RouteTargetRequest(Target t) => new(t.Provider, t.Model, t.Weight, t.MaxErrorRate, t.MaxMeanLatencyMs, t.MinSuccessRate);
    }

    /// <summary>Records of a job by the provider that answered them.</summary>
    private async Task<Dictionary<string, long>> AnsweredByAsync(Guid jobId)
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT p.name, count(*) FROM items i JOIN providers p ON p.id = i.provider_id WHERE i.job_id = @job GROUP BY p.name", connection);
        command.Parameters.AddWithValue("job", jobId);
        var counts = new Dictionary<string, long>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }
        return counts;
    }

    private async Task<JsonElement> WaitForWebhookAsync(string route, string kind)
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        bool Matches(JsonElement w) => w.GetProperty("route").GetString() == route && w.GetProperty("kind").GetString() == kind;
        while (!stack.Webhooks.Any(Matches))
        {
            await Task.Delay(200, wait.Token);
        }
        return stack.Webhooks.Last(Matches);
    }

    private async Task<ProviderDto> CreateProviderAsync(string prefix, HttpClient simulator)
    {
        var request = new ProviderRequest($"{prefix}-{Suffix()}", simulator.BaseAddress!.ToString().TrimEnd('/') + "/v1", StackFixture.SimulatorKey);
        var response = await stack.Api.PostAsJsonAsync("/api/providers", request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var provider = (await response.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.42m, 0.42m))).EnsureSuccessStatusCode();
        return provider;
    }

    private async Task<RouteDto> CreateRouteAsync(string prefix, Target[] targets, RouteThresholds? thresholds = null)
    {
        var response = await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest($"{prefix}-{Suffix()}", targets.Select(t => (RouteTargetRequest)t).ToList(), thresholds));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<RouteDto>(StackFixture.Json))!;
    }

    private static string Suffix() => Guid.NewGuid().ToString("N")[..6];

    private static async Task Configure(HttpClient simulator, object settings) =>
        (await simulator.PutAsJsonAsync("/admin/config", settings)).EnsureSuccessStatusCode();
}
