using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>
/// The audit log (GET /api/audit) on the real stack: every successful change through the Api is recorded with its
/// caller, its endpoint's name and the resource before and after, secrets never in it; refused changes record nothing;
/// only admin keys read it; filters and paging work. The route monitor's own rollbacks are asserted in ResilienceTests
/// and CanaryTests, where they happen.
/// </summary>
public sealed class AuditTests(StackFixture stack) : IAsyncLifetime
{
    private const string AppHostActor = "api-key (AppHost)";
    private readonly TeamKeys _keys = new(stack);

    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync()
    {
        _keys.Dispose();
        await stack.ResetSimulatorsAsync();
    }

    [Fact]
    public async Task A_providers_creation_update_and_deletion_are_recorded_and_its_key_is_never_in_the_log()
    {
        var name = $"audit-{Suffix()}";
        var firstKey = $"sk-audit-first-{Guid.NewGuid():N}";
        var secondKey = $"sk-audit-second-{Guid.NewGuid():N}";
        var sim = SimulatorV1();
        var created = await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest(name, sim, firstKey));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var provider = (await created.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        // The key is rotated and a limit set; then the provider is deleted.
        var updated = await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}", new ProviderRequest(name, sim, secondKey, RequestsPerMinute: 100, TimeoutSeconds: 45));
        Assert.Equal(HttpStatusCode.OK, updated.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await stack.Api.DeleteAsync($"/api/providers/{provider.Id}")).StatusCode);

        var entries = (await AuditAsync($"resourceType=provider&resourceId={provider.Id}")).Items;
        Assert.Equal(["DeleteProvider", "UpdateProvider", "CreateProvider"], entries.Select(e => e.Action));
        Assert.All(entries, e => Assert.Equal((AppHostActor, ApiScopes.AdminTeam, AuditResourceTypes.Provider, provider.Id.ToString()), (e.Actor, e.Team, e.ResourceType, e.ResourceId)));
        var (deletion, update, creation) = (entries[0], entries[1], entries[2]);

        Assert.Null(creation.Before);
        Assert.Equal(name, Text(creation.After, "name"));
        Assert.True(Of(creation.After).GetProperty("hasApiKey").GetBoolean());
        Assert.Equal(firstKey[^4..], Text(creation.After, "apiKeyLast4"));

        // Before and after show what changed: the limit, the timeout, and the key only by its last 4 characters.
        Assert.Equal(JsonValueKind.Null, Of(update.Before).GetProperty("requestsPerMinute").ValueKind);
        Assert.Equal(100, Int(update.After, "requestsPerMinute"));
        Assert.Equal((30, 45), (Int(update.Before, "timeoutSeconds"), Int(update.After, "timeoutSeconds")));
        Assert.Equal((firstKey[^4..], secondKey[^4..]), (Text(update.Before, "apiKeyLast4"), Text(update.After, "apiKeyLast4")));

        Assert.Equal(name, Text(deletion.Before, "name"));
        Assert.Null(deletion.After);
        Assert.True(creation.At <= update.At && update.At <= deletion.At);

        // Neither key is anywhere in the table (every column as text), nor in what the Api answers about it.
        foreach (var key in new[] { firstKey, secondKey })
        {
            Assert.Equal(0L, await stack.ScalarAsync<long>("SELECT count(*) FROM audit_log a WHERE a::text LIKE '%' || @key || '%'", ("key", key)));
            Assert.Equal(0L, await stack.ScalarAsync<long>("SELECT count(*) FROM audit_log a WHERE a::text LIKE '%' || @key || '%'", ("key", key[..^4])));
        }
        Assert.DoesNotContain(firstKey, await stack.Api.GetStringAsync($"/api/audit?resourceId={provider.Id}"));
    }

    [Fact]
    public async Task A_team_keys_secret_shows_masked_its_revocation_is_recorded_and_it_reads_no_audit_log_but_its_changes_are_in_it()
    {
        var team = $"audit-{Suffix()}";
        var keyName = "audit nightly";
        var (created, client) = await _keys.CreateAsync(team, [ApiScopes.Jobs], name: keyName);

        var creation = Assert.Single((await AuditAsync($"resourceType=key&resourceId={created.Key.Id}")).Items);
        Assert.Equal(("CreateApiKey", AppHostActor), (creation.Action, creation.Actor));
        Assert.Equal("***", Text(creation.After, "secret"));
        Assert.Equal(team, Of(creation.After).GetProperty("key").GetProperty("team").GetString());
        Assert.Equal(0L, await stack.ScalarAsync<long>("SELECT count(*) FROM audit_log a WHERE a::text LIKE '%' || @secret || '%'", ("secret", created.Secret)));

        // The team's key: no audit log for it, and what it creates is recorded under its name and team.
        var refused = await client.GetAsync("/api/audit");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        var job = await client.CreateAsync("team.jsonl", JobApiClient.Jsonl(3, i => new { id = $"a{i}", text = $"audit {i}" }), JobApiClient.Fields("deepseek-chat"));
        var jobCreation = Assert.Single((await AuditAsync($"resourceType=job&resourceId={job.Job.Id}")).Items);
        Assert.Equal(("CreateJob", $"key {keyName} ({team})", team), (jobCreation.Action, jobCreation.Actor, jobCreation.Team));
        Assert.Null(jobCreation.Before);
        Assert.Equal(job.Job.Id, Of(jobCreation.After).GetProperty("job").GetProperty("id").GetGuid());
        var byTeam = await AuditAsync($"team={team}");
        Assert.Equal([jobCreation.Id], byTeam.Items.Select(e => e.Id));
        Assert.Equal([jobCreation.Id], (await AuditAsync($"actor={Uri.EscapeDataString($"key {keyName} ({team})")}")).Items.Select(e => e.Id));

        // Revoked: a soft delete, so the after shows when.
        Assert.Equal(HttpStatusCode.NoContent, (await stack.Api.DeleteAsync($"/api/keys/{created.Key.Id}")).StatusCode);
        var revocation = (await AuditAsync($"resourceType=key&resourceId={created.Key.Id}")).Items[0];
        Assert.Equal("RevokeApiKey", revocation.Action);
        Assert.Equal(JsonValueKind.Null, Of(revocation.Before).GetProperty("revokedAt").ValueKind);
        Assert.Equal(JsonValueKind.String, Of(revocation.After).GetProperty("revokedAt").ValueKind);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/audit")).StatusCode);
    }

    [Fact]
    public async Task Price_alias_and_route_changes_and_a_manual_rollback_are_recorded_with_what_changed()
    {
        var suffix = Suffix();
        var provider = await CreateProviderAsync($"audit-{suffix}");

        // A model's price, added then changed.
        await PutOkAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.27m, 1.10m));
        await PutOkAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.30m, 1.20m, RequestsPerMinute: 500));
        var prices = (await AuditAsync($"resourceType=model&resourceId={provider.Id}/deepseek-chat")).Items;
        Assert.Equal(["PutModelPrice", "PutModelPrice"], prices.Select(e => e.Action));
        Assert.Null(prices[1].Before);
        Assert.Equal(0.27m, Dec(prices[1].After, "inputPricePerMTok"));
        Assert.Equal((0.27m, 0.30m), (Dec(prices[0].Before, "inputPricePerMTok"), Dec(prices[0].After, "inputPricePerMTok")));
        Assert.Equal((1.10m, 1.20m), (Dec(prices[0].Before, "outputPricePerMTok"), Dec(prices[0].After, "outputPricePerMTok")));
        Assert.Equal(500, Int(prices[0].After, "requestsPerMinute"));
        // A provider's id finds its models' rows too.
        Assert.Equal(2, (await AuditAsync($"resourceId={provider.Id}")).Items.Count(e => e.Action == "PutModelPrice"));

        // An alias, pointed at one model then another.
        // Dearer than the seeded gpt-4.1 (8/8): the stack is shared, and a name resolves to its cheapest provider.
        await PutOkAsync($"/api/providers/{provider.Id}/models/gpt-4.1", new ModelPriceDto("gpt-4.1", 20m, 20m));
        var alias = $"audit-alias-{suffix}";
        await PutOkAsync($"/api/aliases/{alias}", new ModelAliasDto(alias, "deepseek-chat"));
        await PutOkAsync($"/api/aliases/{alias}", new ModelAliasDto(alias, "gpt-4.1"));
        var aliases = (await AuditAsync($"resourceType=alias&resourceId={alias}")).Items;
        Assert.Equal(["PutAlias", "PutAlias"], aliases.Select(e => e.Action));
        Assert.Null(aliases[1].Before);
        Assert.Equal(("deepseek-chat", "gpt-4.1"), (Text(aliases[0].Before, "model"), Text(aliases[0].After, "model")));

        // A route: created, its thresholds changed, rolled back and forward by hand.
        var created = await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest($"audit-{suffix}",
            [new RouteTargetRequest(provider.Name, "deepseek-chat"), new RouteTargetRequest("sim-fallback", "deepseek-chat")], new RouteThresholds(AutoRollback: false)));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var route = (await created.Content.ReadFromJsonAsync<RouteDto>(StackFixture.Json))!;
        await PutOkAsync($"/api/routes/{route.Id}", new RouteRequest(route.Name,
            [new RouteTargetRequest(provider.Name, "deepseek-chat"), new RouteTargetRequest("sim-fallback", "deepseek-chat")], new RouteThresholds(MinCalls: 50, AutoRollback: false)));
        var rollback = await stack.Api.PostAsJsonAsync($"/api/routes/{route.Id}/rollback", new RouteSwitchRequest("audit test: primary is flaky"));
        Assert.Equal(HttpStatusCode.OK, rollback.StatusCode);
        var forward = await stack.Api.PostAsJsonAsync($"/api/routes/{route.Id}/rollforward", new RouteSwitchRequest("audit test: primary is back"));
        Assert.Equal(HttpStatusCode.OK, forward.StatusCode);

        var routes = (await AuditAsync($"resourceType=route&resourceId={route.Id}")).Items;
        Assert.Equal(["RollForwardRoute", "RollbackRoute", "UpdateRoute", "CreateRoute"], routes.Select(e => e.Action));
        Assert.All(routes, e => Assert.Equal(AppHostActor, e.Actor));
        Assert.Null(routes[3].Before);
        Assert.Equal(route.Name, Text(routes[3].After, "name"));
        Assert.Equal((20, 50), (Of(routes[2].Before).GetProperty("thresholds").GetProperty("minCalls").GetInt32(),
            Of(routes[2].After).GetProperty("thresholds").GetProperty("minCalls").GetInt32()));
        Assert.Equal((0, 1), (Int(routes[1].Before, "activeTargetPosition"), Int(routes[1].After, "activeTargetPosition")));
        Assert.Equal((1, 0), (Int(routes[0].Before, "activeTargetPosition"), Int(routes[0].After, "activeTargetPosition")));

        // Deleting the alias records the alias as it was, and nothing after.
        Assert.Equal(HttpStatusCode.NoContent, (await stack.Api.DeleteAsync($"/api/aliases/{alias}")).StatusCode);
        var deleted = (await AuditAsync($"resourceType=alias&resourceId={alias}")).Items[0];
        Assert.Equal(("DeleteAlias", "gpt-4.1"), (deleted.Action, Text(deleted.Before, "model")));
        Assert.Null(deleted.After);
    }

    [Fact]
    public async Task Pausing_and_resuming_a_job_records_its_state_before_and_after()
    {
        // Slow answers: the job is still running when it is paused.
        await stack.ResetSimulatorsAsync(primaryLatencyMs: 400, fallbackLatencyMs: 400);
        var created = await stack.Api.CreateAsync("pause.jsonl", JobApiClient.Jsonl(1000, i => new { id = $"p{i}", text = $"pause {i}" }),
            JobApiClient.Fields("deepseek-chat", "Classify: {{text}}", ("startPaused", "true")));
        Assert.Equal(JobState.Paused, created.Job.State);
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/resume", null)).EnsureSuccessStatusCode();
        await stack.Api.WaitForAsync(created.Job.Id, j => j.State == JobState.Running, TimeSpan.FromMinutes(1));
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/pause", null)).EnsureSuccessStatusCode();
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/cancel", null)).EnsureSuccessStatusCode();

        var entries = (await AuditAsync($"resourceType=job&resourceId={created.Job.Id}")).Items;
        Assert.Equal(["CancelJob", "PauseJob", "ResumeJob", "CreateJob"], entries.Select(e => e.Action));
        var (cancel, pause, resume) = (entries[0], entries[1], entries[2]);
        Assert.Equal(nameof(JobState.Paused), Text(resume.Before, "state"));
        Assert.NotEqual(nameof(JobState.Paused), Text(resume.After, "state"));
        Assert.Equal(nameof(JobState.Running), Text(pause.Before, "state"));
        Assert.Equal(nameof(JobState.Paused), Text(pause.After, "state"));
        Assert.Equal(nameof(JobState.Paused), Text(cancel.Before, "state"));
        Assert.Equal(nameof(JobState.Cancelled), Text(cancel.After, "state"));
        Assert.All(entries, e => Assert.Equal(created.Job.Id.ToString(), e.ResourceId));
    }

    [Fact]
    public async Task A_refused_change_a_probe_and_an_idempotent_replay_record_nothing()
    {
        var provider = await CreateProviderAsync($"audit-refused-{Suffix()}");
        var missing = Guid.NewGuid();
        var before = await PeopleRowsAsync();

        var refused = new (string What, Func<Task<HttpResponseMessage>> Call, HttpStatusCode Status)[]
        {
            ("bad provider", () => stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest("x", "not a url", null)), HttpStatusCode.BadRequest),
            ("unknown provider", () => stack.Api.PutAsJsonAsync($"/api/providers/{missing}", new ProviderRequest("x", "http://x.example/v1", null)), HttpStatusCode.NotFound),
            ("duplicate name", () => stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest(provider.Name, "http://x.example/v1", null)), HttpStatusCode.Conflict),
            ("negative price", () => stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/m", new ModelPriceDto("m", -1m, 1m)), HttpStatusCode.BadRequest),
            ("model of no provider", () => stack.Api.DeleteAsync($"/api/providers/{missing}/models/m"), HttpStatusCode.NotFound),
            ("alias to nothing", () => stack.Api.PutAsJsonAsync("/api/aliases/audit-nothing", new ModelAliasDto("audit-nothing", "no-such-model")), HttpStatusCode.BadRequest),
            ("unknown route", () => stack.Api.PostAsJsonAsync($"/api/routes/{missing}/rollback", new RouteSwitchRequest("why")), HttpStatusCode.NotFound),
            ("no reason", () => stack.Api.PostAsJsonAsync($"/api/routes/{missing}/rollback", new RouteSwitchRequest("")), HttpStatusCode.BadRequest),
            ("unknown job", () => stack.Api.PostAsync($"/api/jobs/{missing}/pause", null), HttpStatusCode.NotFound),
            ("bad key", () => stack.Api.PostAsJsonAsync("/api/keys", new CreateApiKeyRequest("", "Bad Team", [])), HttpStatusCode.BadRequest),
            ("unknown key", () => stack.Api.DeleteAsync($"/api/keys/{missing}"), HttpStatusCode.NotFound),
            ("bad file", () => stack.Api.PostAsync("/api/jobs", JobApiClient.Form("bad.jsonl", "{not json\n", JobApiClient.Fields("deepseek-chat"))), HttpStatusCode.BadRequest),
            ("unknown batch", () => stack.Api.PostAsync("/v1/batches/batch_0123/cancel", null), HttpStatusCode.NotFound),
            // Reads that happen to be POSTs change nothing.
            ("connection test", () => stack.Api.PostAsync($"/api/providers/{provider.Id}/test", null), HttpStatusCode.OK),
            ("preview", () => stack.Api.PostAsync("/api/jobs/preview", JobApiClient.Form("p.jsonl", JobApiClient.Jsonl(2, i => new { id = i, text = "x" }), JobApiClient.Fields("deepseek-chat"))), HttpStatusCode.OK),
        };
        foreach (var (what, call, status) in refused)
        {
            using var response = await call();
            Assert.True(response.StatusCode == status, $"{what}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        Assert.Equal(before, await PeopleRowsAsync());

        // A retried create with the same Idempotency-Key answers the first job and creates nothing: one row.
        var key = $"audit-{Guid.NewGuid():N}";
        Guid? jobId = null;
        for (var i = 0; i < 2; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs")
            {
                Content = JobApiClient.Form("idem.jsonl", JobApiClient.Jsonl(2, n => new { id = n, text = "x" }), JobApiClient.Fields("deepseek-chat")),
            };
            request.Headers.Add("Idempotency-Key", key);
            using var response = await stack.Api.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, response.StatusCode);
            var id = (await response.Content.ReadFromJsonAsync<CreatedJob>(StackFixture.Json))!.Job.Id;
            Assert.Equal(jobId ?? id, id);
            jobId = id;
        }
        Assert.Single((await AuditAsync($"resourceType=job&resourceId={jobId}")).Items);
        Assert.Equal(before + 1, await PeopleRowsAsync());
    }

    [Fact]
    public async Task Filters_and_paging_narrow_the_log()
    {
        var suffix = Suffix();
        var aliases = Enumerable.Range(0, 5).Select(i => $"audit-page-{suffix}-{i}").ToArray();
        foreach (var alias in aliases)
        {
            await PutOkAsync($"/api/aliases/{alias}", new ModelAliasDto(alias, "deepseek-chat"));
        }
        var first = Assert.Single((await AuditAsync($"resourceType=alias&resourceId={aliases[0]}")).Items);
        var since = $"resourceType=alias&from={Iso(first.At)}";

        // Newest first, in pages.
        var pages = new List<PagedResult<AuditEntryDto>>();
        for (var page = 1; page <= 3; page++)
        {
            pages.Add(await AuditAsync($"{since}&pageSize=2&page={page}"));
        }
        Assert.All(pages, p => Assert.Equal(5, p.TotalCount));
        Assert.Equal([2, 2, 1], pages.Select(p => p.Items.Count));
        var all = pages.SelectMany(p => p.Items).ToList();
        Assert.Equal(Enumerable.Reverse(aliases), all.Select(e => e.ResourceId));
        Assert.Equal(all.Select(e => e.Id).OrderDescending(), all.Select(e => e.Id));
        Assert.Empty((await AuditAsync($"{since}&pageSize=2&page=4")).Items);

        // From inclusive, to exclusive.
        var third = all.Single(e => e.ResourceId == aliases[2]);
        Assert.Equal(aliases[..2], (await AuditAsync($"{since}&to={Iso(third.At)}")).Items.Select(e => e.ResourceId).Reverse());
        Assert.Equal(aliases[2..].AsEnumerable().Reverse(), (await AuditAsync($"resourceType=alias&from={Iso(third.At)}")).Items.Select(e => e.ResourceId));
        Assert.Empty((await AuditAsync($"resourceType=alias&from={Iso(all[0].At.AddSeconds(1))}")).Items);

        // Actor and action match any part, in any case; resource type exactly.
        Assert.Equal(5, (await AuditAsync($"{since}&actor=apphost")).TotalCount);
        Assert.Equal(0, (await AuditAsync($"{since}&actor=nobody")).TotalCount);
        Assert.Equal(5, (await AuditAsync($"{since}&action=putalias")).TotalCount);
        Assert.Equal(0, (await AuditAsync($"{since}&action=DeleteAlias")).TotalCount);
        // The wildcards of ILIKE are text: an action with "_" in it is none of these.
        Assert.Equal(0, (await AuditAsync($"{since}&action=Put_lias")).TotalCount);
        Assert.Equal(HttpStatusCode.NoContent, (await stack.Api.DeleteAsync($"/api/aliases/{aliases[4]}")).StatusCode);
        Assert.Equal([aliases[4]], (await AuditAsync($"{since}&action=DeleteAlias")).Items.Select(e => e.ResourceId));
        Assert.Equal(0, (await AuditAsync($"resourceType=ALIAS&from={Iso(first.At)}")).TotalCount);

        foreach (var bad in new[] { "pageSize=0", "pageSize=501", "page=0", $"from={Iso(third.At)}&to={Iso(first.At)}" })
        {
            Assert.Equal(HttpStatusCode.BadRequest, (await stack.Api.GetAsync($"/api/audit?{bad}")).StatusCode);
        }
    }

    private async Task<PagedResult<AuditEntryDto>> AuditAsync(string query)
    {
        var response = await stack.Api.GetAsync($"/api/audit?{query}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET /api/audit?{query}: {(int)response.StatusCode} {body}");
        return JsonSerializer.Deserialize<PagedResult<AuditEntryDto>>(body, StackFixture.Json)!;
    }

    /// <summary>Rows people made (the route monitor's may come from any earlier test's routes).</summary>
    private Task<long> PeopleRowsAsync() => stack.ScalarAsync<long>("SELECT count(*) FROM audit_log WHERE actor <> 'system'");

    private async Task PutOkAsync(string path, object body)
    {
        using var response = await stack.Api.PutAsJsonAsync(path, body, StackFixture.Json);
        Assert.True(response.IsSuccessStatusCode, $"PUT {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    private async Task<ProviderDto> CreateProviderAsync(string name)
    {
        var response = await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest(name, SimulatorV1(), StackFixture.SimulatorKey));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
    }

    private string SimulatorV1() => stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/') + "/v1";

    private static JsonElement Of(JsonElement? element) => element ?? throw new Xunit.Sdk.XunitException("no JSON recorded");

    private static string? Text(JsonElement? element, string property) => Of(element).GetProperty(property).GetString();

    private static int Int(JsonElement? element, string property) => Of(element).GetProperty(property).GetInt32();

    private static decimal Dec(JsonElement? element, string property) => Of(element).GetProperty(property).GetDecimal();

    private static string Iso(DateTimeOffset at) => Uri.EscapeDataString(at.ToString("O", CultureInfo.InvariantCulture));

    private static string Suffix() => Guid.NewGuid().ToString("N")[..6];
}
