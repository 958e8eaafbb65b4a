using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;

namespace AspireBatch.Tests;

/// <summary>Every result says where it came from: job, template and parameter hashes, route and position, provider, models, response id, attempt, usage.</summary>
public sealed class LineageTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task A_fallback_answer_names_its_position_provider_response_id_and_attempt_and_exports_it_on_request()
    {
        // The route's first target, a provider of its own on sim-fallback, answers 500 to everything; sim-primary answers.
        await Configure(stack.SimFallback, new { error500Rate = 1.0 });
        var broken = await CreateProviderAsync("broken-" + Suffix(), stack.SimFallback, "deepseek-chat");
        // No automatic rollback: the monitor moving the route past the broken target mid-job would answer later records at attempt 1.
        var route = await CreateRouteAsync("lineage", new RouteThresholds(AutoRollback: false), (broken.Name, "deepseek-chat"), ("sim-primary", "deepseek-chat"));
        var created = await stack.Api.CreateAsync("lin.jsonl", JobApiClient.Jsonl(6, i => new { id = $"l{i}", text = $"lineage {i}" }),
            JobApiClient.Fields(route.Name, "Classify: {{text}}", ("systemTemplate", "You are terse."), ("temperature", "0.3"), ("maxTokens", "40")));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(6, job.Counters.Succeeded);
        Assert.Equal(LineageHash.Templates("You are terse.", "Classify: {{text}}"), job.TemplateHash);
        Assert.Equal(LineageHash.Parameters(0.3, 40, null), job.ParametersHash);

        var items = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Id}/items?pageSize=100", StackFixture.Json))!.Items;
        var lineages = new Dictionary<string, ItemLineageDto>();
        foreach (var summary in items)
        {
            var item = (await stack.Api.GetFromJsonAsync<ItemDetailDto>($"/api/jobs/{job.Id}/items/{summary.Id}", StackFixture.Json))!;
            var l = item.Lineage!;
            lineages[summary.CustomId] = l;
            Assert.Equal((job.Id, job.TemplateHash, job.ParametersHash), (l.JobId, l.TemplateHash, l.ParametersHash));
            Assert.Equal((route.Name, 1, "sim-primary", route.Name), (l.RouteName, l.RoutePosition, l.ProviderName, l.RequestedModel));
            Assert.Equal("deepseek-chat", l.ModelName);
            Assert.Equal(UsageSources.Reported, l.UsageSource);
            // The id is the one the simulator put in the answer it sent.
            using var body = JsonDocument.Parse(item.ResponseBody!);
            Assert.StartsWith("chatcmpl-", l.ResponseId);
            Assert.Equal(body.RootElement.GetProperty("id").GetString(), l.ResponseId);
            Assert.Equal(body.RootElement.GetProperty("model").GetString(), l.ResponseModel);
            // The first target's tries (500s, or a circuit it opened) came first: the answer is the item's last attempt, the fallback's.
            Assert.True(l.Attempt > 1, $"{summary.CustomId}: attempt {l.Attempt}");
            Assert.Equal(summary.Attempts, l.Attempt);
            var answered = Assert.Single(item.AttemptHistory, a => a.StatusCode == 200);
            Assert.Equal((l.Attempt!.Value, "sim-primary", true), (answered.Number, answered.ProviderName, answered.Fallback));
            Assert.All(item.AttemptHistory.Where(a => a != answered), a => Assert.Equal(broken.Name, a.ProviderName));
        }
        Assert.Equal(6, lineages.Values.Select(l => l.ResponseId).Distinct().Count());

        // JSONL: the plain export is today's, byte for byte; lineage=true adds one object after the record.
        var plain = await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=jsonl");
        Assert.Equal(plain, await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=jsonl&lineage=false"));
        Assert.DoesNotContain("\"lineage\"", plain);
        Assert.DoesNotContain("response_id", plain);
        var withLineage = await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=jsonl&lineage=true");
        var plainLines = Lines(plain);
        var lineageLines = Lines(withLineage);
        Assert.Equal(plainLines.Length, lineageLines.Length);
        for (var n = 0; n < plainLines.Length; n++)
        {
            Assert.StartsWith(plainLines[n][..^1] + ",\"lineage\":{", lineageLines[n]);
            using var line = JsonDocument.Parse(lineageLines[n]);
            var l = lineages[line.RootElement.GetProperty("id").GetString()!];
            var exported = line.RootElement.GetProperty("lineage");
            Assert.Equal(new[] { "job_id", "template_hash", "parameters_hash", "route", "route_position", "provider", "requested_model", "response_model", "response_id", "attempt", "usage_source", "deduplicated_from", "cached_from" },
                exported.EnumerateObject().Select(p => p.Name));
            Assert.Equal(job.Id, exported.GetProperty("job_id").GetGuid());
            Assert.Equal(job.TemplateHash, exported.GetProperty("template_hash").GetString());
            Assert.Equal(job.ParametersHash, exported.GetProperty("parameters_hash").GetString());
            Assert.Equal(route.Name, exported.GetProperty("route").GetString());
            Assert.Equal(1, exported.GetProperty("route_position").GetInt32());
            Assert.Equal("sim-primary", exported.GetProperty("provider").GetString());
            Assert.Equal(route.Name, exported.GetProperty("requested_model").GetString());
            Assert.Equal(l.ResponseModel, exported.GetProperty("response_model").GetString());
            Assert.Equal(l.ResponseId, exported.GetProperty("response_id").GetString());
            Assert.Equal(l.Attempt, exported.GetProperty("attempt").GetInt32());
            Assert.Equal(UsageSources.Reported, exported.GetProperty("usage_source").GetString());
        }

        // CSV: the same columns at the end of each row, and none without the parameter.
        var plainCsv = Lines(await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=csv"));
        Assert.Equal("id,answer,input_tokens,output_tokens,cost_usd,state,error,usage_source,in_doubt_calls,in_doubt_cost_usd", plainCsv[0]);
        var lineageCsv = Lines(await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=csv&lineage=true"));
        Assert.Equal(plainCsv[0] + ",job_id,template_hash,parameters_hash,route,route_position,provider,requested_model,response_model,response_id,attempt,deduplicated_from,cached_from", lineageCsv[0]);
        Assert.Equal(plainCsv.Length, lineageCsv.Length);
        for (var n = 1; n < plainCsv.Length; n++)
        {
            Assert.StartsWith(plainCsv[n] + ",", lineageCsv[n]);
            var l = lineages[lineageCsv[n][..lineageCsv[n].IndexOf(',')]];
            Assert.Equal($"{job.Id},{job.TemplateHash},{job.ParametersHash},{route.Name},1,sim-primary,{route.Name},{l.ResponseModel},{l.ResponseId},{l.Attempt},,",
                lineageCsv[n][(plainCsv[n].Length + 1)..]);
        }
    }

    [Fact]
    public async Task A_record_answered_after_a_failure_counts_its_attempts_across_both_runs()
    {
        // A model the simulator does not serve: 404, not retried, so each record fails on its first call.
        var model = "ghost-" + Suffix();
        var ghost = await CreateProviderAsync("ghost-" + Suffix(), stack.SimPrimary, model);
        var created = await stack.Api.CreateAsync("ghost.jsonl", JobApiClient.Jsonl(3, i => new { id = $"g{i}", text = $"ghost {i}" }), JobApiClient.Fields(model));
        var failed = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(3, failed.Counters.Failed);
        var itemId = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{failed.Id}/items", StackFixture.Json))!.Items[0].Id;
        var first = (await stack.Api.GetFromJsonAsync<ItemDetailDto>($"/api/jobs/{failed.Id}/items/{itemId}", StackFixture.Json))!;
        Assert.Equal((1, ghost.Name, (int?)null, model), (first.Lineage!.Attempt, first.Lineage.ProviderName, first.Lineage.RoutePosition, first.Lineage.RequestedModel));

        // Sent again elsewhere: the answer is the record's second attempt, not the second run's first.
        var move = await stack.Api.PostAsJsonAsync($"/api/jobs/{failed.Id}/move", new MoveLeftoversRequest("deepseek-chat"));
        Assert.True(move.IsSuccessStatusCode, await move.Content.ReadAsStringAsync());
        var job = await stack.Api.WaitForAsync(failed.Id, j => j.State == JobState.Completed && j.Counters.Succeeded == 3, TimeSpan.FromMinutes(2));
        var item = (await stack.Api.GetFromJsonAsync<ItemDetailDto>($"/api/jobs/{job.Id}/items/{itemId}", StackFixture.Json))!;
        Assert.Equal(ItemState.Succeeded, item.Summary.State);
        Assert.Equal((2, 2), (item.Lineage!.Attempt, item.Summary.Attempts));
        Assert.Equal("deepseek-chat", item.Lineage.RequestedModel);
        Assert.NotNull(item.Lineage.ResponseId);
        // The ledger numbers the attempts the same way: 1 the 404, 2 the answer.
        Assert.Equal(new[] { (1, 404), (2, 200) }, item.AttemptHistory.Select(a => (a.Number, a.StatusCode ?? 0)));
    }

    [Fact]
    public async Task Jobs_with_the_same_templates_and_parameters_share_their_hashes()
    {
        const string format = """{"type":"json_object"}""";
        var a = await CreateAsync("Classify: {{text}}", "0.5", format);
        // The same response format written with other spacing and key order is the same parameters.
        var b = await CreateAsync("Classify: {{text}}", "0.50", """{ "type" : "json_object" }""");
        var otherTemplate = await CreateAsync("Summarise: {{text}}", "0.5", format);
        var otherParameters = await CreateAsync("Classify: {{text}}", "0.6", format);

        Assert.Matches("^[0-9a-f]{16}$", a.TemplateHash);
        Assert.Matches("^[0-9a-f]{16}$", a.ParametersHash);
        Assert.Equal((a.TemplateHash, a.ParametersHash), (b.TemplateHash, b.ParametersHash));
        Assert.NotEqual(a.TemplateHash, otherTemplate.TemplateHash);
        Assert.Equal(a.ParametersHash, otherTemplate.ParametersHash);
        Assert.Equal(a.TemplateHash, otherParameters.TemplateHash);
        Assert.NotEqual(a.ParametersHash, otherParameters.ParametersHash);
        Assert.Equal(LineageHash.Parameters(0.5, null, format), a.ParametersHash);

        async Task<JobDto> CreateAsync(string template, string temperature, string responseFormat)
        {
            var created = await stack.Api.CreateAsync("h.jsonl", JobApiClient.Jsonl(1, i => new { id = i, text = "hash" }),
                JobApiClient.Fields("deepseek-chat", template, ("temperature", temperature), ("responseFormat", responseFormat), ("startPaused", "true")));
            var job = await stack.Api.GetJobAsync(created.Job.Id);
            await stack.Api.PostAsync($"/api/jobs/{job.Id}/cancel", null);
            return job;
        }
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToArray();

    private async Task<ProviderDto> CreateProviderAsync(string name, HttpClient simulator, string model)
    {
        var response = await stack.Api.PostAsJsonAsync("/api/providers",
            new ProviderRequest(name, simulator.BaseAddress!.ToString().TrimEnd('/') + "/v1", StackFixture.SimulatorKey));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var provider = (await response.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/{model}", new ModelPriceDto(model, 0.42m, 0.42m))).EnsureSuccessStatusCode();
        return provider;
    }

    private async Task<RouteDto> CreateRouteAsync(string prefix, RouteThresholds thresholds, params (string Provider, string Model)[] targets)
    {
        var response = await stack.Api.PostAsJsonAsync("/api/routes",
            new RouteRequest($"{prefix}-{Suffix()}", targets.Select(t => new RouteTargetRequest(t.Provider, t.Model)).ToList(), thresholds));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<RouteDto>(StackFixture.Json))!;
    }

    private static string Suffix() => Guid.NewGuid().ToString("N")[..6];

    private static async Task Configure(HttpClient simulator, object settings) =>
        (await simulator.PutAsJsonAsync("/admin/config", settings)).EnsureSuccessStatusCode();
}
