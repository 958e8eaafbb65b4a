using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>Limits shared by all workers, Retry-After honoured, timeouts, circuit state, and rollback on routes.</summary>
public sealed class ResilienceTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task Retry_after_is_honoured_and_5xx_then_success_completes()
    {
        // The simulator's 503 carries Retry-After: 1. An item unlucky five times in a row falls back to the healthy target.
        await Configure(stack.SimFallback, new { error503Rate = 0.5, seed = 7 });
        // A provider of its own on sim-fallback: a circuit or a limit learned by an earlier test must not send the items elsewhere.
        var busy = await CreateProviderAsync(new ProviderRequest("unlucky-" + Suffix(), stack.SimFallback.BaseAddress!.ToString().TrimEnd('/') + "/v1", StackFixture.SimulatorKey));
        var route = await CreateRouteAsync("retry-after", (busy.Name, "deepseek-chat"), ("sim-primary", "deepseek-chat"));
        var created = await stack.Api.CreateAsync("ra.jsonl", JobApiClient.Jsonl(40, i => new { id = i, text = $"r{i}" }), JobApiClient.Fields(route.Name));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(40, job.Counters.Succeeded);

        var retries = await RetriesAfterAsync(job.Id, 503);
        Assert.NotEmpty(retries);
        Assert.All(retries, r =>
        {
            // At least what the provider asked, and not much more: at most 10 % jitter, plus scheduling on a busy
            // machine for the gap (exponential backoff or the 60 s cap would show as far more).
            Assert.InRange(r.Wait, 1000, 1100);
            Assert.True(r.Gap >= 990, $"the retry came {r.Gap:0} ms after the 503, before Retry-After");
            Assert.True(r.Gap < 2500, $"the retry came {r.Gap:0} ms after the 503, far later than Retry-After");
        });
    }

    [Theory]
    [InlineData("Seconds", 1000)]
    [InlineData("HttpDate", 1500)]
    [InlineData("Milliseconds", 700)]
    public async Task A_429_waits_what_retry_after_asks_then_falls_back(string format, int retryAfterMs)
    {
        // A busy provider: 429s at random, each asking for a wait in one of the header forms providers use.
        await Configure(stack.SimFallback, new { error429Rate = 0.6, retryAfterMs, retryAfterFormat = format, seed = 11 });
        // A provider of its own on sim-fallback: a circuit or a limit learned by an earlier test (or an earlier case of
        // this theory) must not send the items elsewhere before they meet a 429.
        var busy = await CreateProviderAsync(new ProviderRequest("busy-" + Suffix(), stack.SimFallback.BaseAddress!.ToString().TrimEnd('/') + "/v1", StackFixture.SimulatorKey));
        var route = await CreateRouteAsync("busy", (busy.Name, "deepseek-chat"), ("sim-primary", "deepseek-chat"));
        var created = await stack.Api.CreateAsync("busy.jsonl", JobApiClient.Jsonl(30, i => new { id = i, text = $"b{i}" }), JobApiClient.Fields(route.Name));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(30, job.Counters.Succeeded);

        // "... Please try again in 1.5s." states the exact wait the header asked for.
        var retries = (await RetriesAfterAsync(job.Id, 429)).Select(r => (
            Asked: double.Parse(r.Message[(r.Message.LastIndexOf("in ", StringComparison.Ordinal) + 3)..].TrimEnd('.', 's'), CultureInfo.InvariantCulture) * 1000,
            r.Wait, r.Gap)).ToList();
        Assert.True(retries.Count > 0, "no item retried after a 429; its attempts: " + await AttemptSummaryAsync(job.Id));
        Assert.All(retries, r =>
        {
            // An HTTP date is read a few milliseconds after it was written; the other forms are exact.
            Assert.True(r.Wait >= r.Asked - 50, $"waited {r.Wait} ms where the provider asked for {r.Asked:0} ms");
            Assert.True(r.Gap >= r.Asked - 50, $"the retry came {r.Gap:0} ms after the 429, before the {r.Asked:0} ms asked");
            Assert.True(r.Gap < r.Asked * 1.1 + 1500, $"the retry came {r.Gap:0} ms after the 429, far later than the {r.Asked:0} ms asked");
        });
    }

    [Fact]
    public async Task A_timed_out_attempt_is_retried()
    {
        var sim = stack.SimFallback.BaseAddress!.ToString().TrimEnd('/');
        var provider = await CreateProviderAsync(new ProviderRequest("slow-" + Suffix(), sim + "/v1", StackFixture.SimulatorKey, TimeoutSeconds: 1));
        await Configure(stack.SimFallback, new { timeoutRate = 0.4, timeoutHangMs = 5000, seed = 3 });
        var route = await CreateRouteAsync("timeouts", (provider.Name, "deepseek-chat"));
        var created = await stack.Api.CreateAsync("t.jsonl", JobApiClient.Jsonl(20, i => new { id = i, text = $"t{i}" }), JobApiClient.Fields(route.Name));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(20, job.Counters.Succeeded);
        Assert.True(await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'timeout'", ("job", job.Id)) > 0);
    }

    [Fact]
    public async Task Two_workers_share_one_rpm_limit_without_a_429()
    {
        const int limit = 600;
        var sim = stack.SimFallback.BaseAddress!.ToString().TrimEnd('/');
        var provider = await CreateProviderAsync(new ProviderRequest("limited-" + Suffix(), sim + "/v1", StackFixture.SimulatorKey, RequestsPerMinute: limit));
        await Configure(stack.SimFallback, new { requestsPerMinute = limit, latencyMs = 20 });
        var route = await CreateRouteAsync("limited", (provider.Name, "deepseek-chat"));
        var created = await stack.Api.CreateAsync("l.jsonl", JobApiClient.Jsonl(200, i => new { id = i, text = $"l{i}" }), JobApiClient.Fields(route.Name));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(200, job.Counters.Succeeded);

        using var stats = JsonDocument.Parse(await stack.SimFallback.GetStringAsync("/admin/stats"));
        Assert.Equal(0, stats.RootElement.GetProperty("rateLimited").GetInt64());
        var span = await stack.ScalarAsync<double>("SELECT extract(epoch FROM max(started_at) - min(started_at)) FROM attempts WHERE job_id = @job", ("job", job.Id));
        // 200 calls at 10 per second take at least 19.9 s whoever makes them. Start times are stamped after the slot
        // is granted, so a stalled process on a busy machine moves single points; 3 % allows for that, while two
        // workers that did not share the limit would show twice the rate.
        Assert.True(199 / span <= limit / 60.0 * 1.03, $"{199 / span:0.0} calls/s exceeds the limit of {limit / 60.0:0.0}");
    }

    [Fact]
    public async Task A_model_limit_holds_on_a_provider_without_one()
    {
        const int modelLimit = 120;
        var sim = stack.SimFallback.BaseAddress!.ToString().TrimEnd('/');
        var provider = await CreateProviderAsync(new ProviderRequest("per-model-" + Suffix(), sim + "/v1", StackFixture.SimulatorKey));
        var put = await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat",
            new ModelPriceDto("deepseek-chat", 0.42m, 0.42m, RequestsPerMinute: modelLimit));
        Assert.True(put.IsSuccessStatusCode, await put.Content.ReadAsStringAsync());
        Assert.Equal(modelLimit, (await put.Content.ReadFromJsonAsync<ModelPriceDto>(StackFixture.Json))!.RequestsPerMinute);
        var refused = await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat",
            new ModelPriceDto("deepseek-chat", 0.42m, 0.42m, TokensPerMinute: 0));
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refused.StatusCode);

        var route = await CreateRouteAsync("per-model", (provider.Name, "deepseek-chat"));
        var created = await stack.Api.CreateAsync("pm.jsonl", JobApiClient.Jsonl(30, i => new { id = i, text = $"pm{i}" }), JobApiClient.Fields(route.Name));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(30, job.Counters.Succeeded);

        var span = await stack.ScalarAsync<double>("SELECT extract(epoch FROM max(started_at) - min(started_at)) FROM attempts WHERE job_id = @job", ("job", job.Id));
        // 30 calls at 2 per second: about 14.5 s. A stalled timestamp moves this by a few percent; no limit would be 50 times more.
        Assert.True(29 / span <= modelLimit / 60.0 * 1.05, $"{29 / span:0.00} calls/s exceeds the model's limit of {modelLimit / 60.0:0.0}");
    }

    [Fact]
    public async Task A_job_cap_changed_while_the_job_runs_takes_effect()
    {
        var route = await CreateRouteAsync("cap", ("sim-fallback", "deepseek-chat"));
        var created = await stack.Api.CreateAsync("cap.jsonl", JobApiClient.Jsonl(300, i => new { id = i, text = $"c{i}" }),
            JobApiClient.Fields(route.Name, more: ("startPaused", "true")));
        (await stack.Api.PutAsJsonAsync($"/api/jobs/{created.Job.Id}/settings", new JobSettingsRequest(60, null))).EnsureSuccessStatusCode();
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/resume", null)).EnsureSuccessStatusCode();

        await AssertLimitChangeTakesEffectAsync(created.Job.Id, oldPerMinute: 60,
            async () => (await stack.Api.PutAsJsonAsync($"/api/jobs/{created.Job.Id}/settings", new JobSettingsRequest(6000, null))).EnsureSuccessStatusCode());
    }

    [Fact]
    public async Task A_provider_limit_changed_while_a_job_runs_takes_effect()
    {
        var sim = stack.SimFallback.BaseAddress!.ToString().TrimEnd('/');
        var request = new ProviderRequest("changing-" + Suffix(), sim + "/v1", StackFixture.SimulatorKey, RequestsPerMinute: 60);
        var provider = await CreateProviderAsync(request);
        var route = await CreateRouteAsync("changing", (provider.Name, "deepseek-chat"));
        var created = await stack.Api.CreateAsync("ch.jsonl", JobApiClient.Jsonl(300, i => new { id = i, text = $"ch{i}" }), JobApiClient.Fields(route.Name));

        await AssertLimitChangeTakesEffectAsync(created.Job.Id, oldPerMinute: 60,
            async () => (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}", request with { ApiKey = null, RequestsPerMinute = 6000 })).EnsureSuccessStatusCode());
    }

    /// <summary>Holds to the old limit until the change, then goes well past it within seconds, without a restart.</summary>
    private async Task AssertLimitChangeTakesEffectAsync(Guid jobId, int oldPerMinute, Func<Task> raise)
    {
        using (var wait = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
        {
            while ((await stack.Api.GetFromJsonAsync<JobDto>($"/api/jobs/{jobId}", StackFixture.Json))!.Counters.Succeeded < 5)
            {
                await Task.Delay(250, wait.Token);
            }
        }
        var changedAt = DateTimeOffset.UtcNow;
        await raise();
        var job = await stack.Api.WaitForStateAsync(jobId, JobState.Completed, TimeSpan.FromMinutes(3));
        Assert.Equal(300, job.Counters.Succeeded);

        var before = await stack.ScalarAsync<double>(
            "SELECT (count(*) - 1) / extract(epoch FROM max(started_at) - min(started_at)) FROM attempts WHERE job_id = @job AND started_at < @at",
            ("job", jobId), ("at", changedAt));
        // A handful of calls a second apart: one stalled timestamp moves this by a tenth; no limit at all would be 100 times more.
        Assert.True(before <= oldPerMinute / 60.0 * 1.25, $"{before:0.00} calls/s before the change, over the old limit");
        // Ten seconds after the change the old limit allows 10 calls; a change that took effect lets far more through.
        var afterwards = await stack.ScalarAsync<long>(
            "SELECT count(*) FROM attempts WHERE job_id = @job AND started_at BETWEEN @at AND @at + interval '10 seconds'",
            ("job", jobId), ("at", changedAt));
        Assert.True(afterwards > 3 * 10 * oldPerMinute / 60, $"{afterwards} calls in the 10 s after the change");
    }

    [Fact]
    public async Task A_slow_primary_rolls_the_route_back_and_an_operator_rolls_it_forward()
    {
        // A provider of its own (on the primary simulator) gives the route a window no earlier test has fed.
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var primary = await CreateProviderAsync(new ProviderRequest("primary-" + Suffix(), sim + "/v1", StackFixture.SimulatorKey));
        var route = await CreateRouteAsync("rollback", [(primary.Name, "deepseek-chat"), ("sim-fallback", "deepseek-chat")],
            new RouteThresholds(EvaluationIntervalSeconds: 2, MinCalls: 5, WindowSeconds: 60));
        await Configure(stack.SimPrimary, new { latencyMs = 700 });
        var created = await stack.Api.CreateAsync("rb.jsonl", JobApiClient.Jsonl(300, i => new { id = i, text = $"rb{i}" }), JobApiClient.Fields(route.Name));

        RouteDto current;
        using (var wait = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
        {
            do
            {
                await Task.Delay(500, wait.Token);
                current = (await stack.Api.GetFromJsonAsync<RouteDto>($"/api/routes/{route.Id}", StackFixture.Json))!;
            }
            while (current.ActiveTargetPosition == 0);
        }
        Assert.Equal(1, current.ActiveTargetPosition);
        var events = await stack.Api.GetFromJsonAsync<List<RollbackEventDto>>($"/api/routes/{route.Id}/events", StackFixture.Json);
        Assert.True(events!.Count == 1, "no switch was recorded; worker said: " + string.Join("\n", stack.Logs.Where(l => l.Contains("oute") || l.Contains("fail")).TakeLast(30)));
        var automatic = events[0];
        Assert.True(automatic.Automatic);
        Assert.Contains("mean latency", automatic.Reason);
        Assert.Equal($"{primary.Name}/deepseek-chat", automatic.FromTarget);
        using (var figures = JsonDocument.Parse(automatic.Figures!))
        {
            Assert.True(figures.RootElement.GetProperty("meanLatencyMs").GetDouble() > 500);
        }
        await WaitForWebhookAsync(route.Name, automatic: true);
        // The monitor's decision is in the audit log as the system's, written with the switch.
        var audited = Assert.Single((await stack.Api.GetFromJsonAsync<PagedResult<AuditEntryDto>>($"/api/audit?resourceType=route&resourceId={route.Id}&actor=system", StackFixture.Json))!.Items);
        Assert.Equal(("system", "admin", "AutomaticRollback"), (audited.Actor, audited.Team, audited.Action));
        Assert.Equal(0, audited.Before!.Value.GetProperty("activeTargetPosition").GetInt32());
        var after = audited.After!.Value;
        Assert.Equal(1, after.GetProperty("activeTargetPosition").GetInt32());
        Assert.Equal(automatic.Reason, after.GetProperty("reason").GetString());
        Assert.True(after.GetProperty("figures").GetProperty("meanLatencyMs").GetDouble() > 500);

        await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        await Configure(stack.SimPrimary, new { latencyMs = 5 });
        var forward = await stack.Api.PostAsJsonAsync($"/api/routes/{route.Id}/rollforward", new RouteSwitchRequest("primary is fast again"));
        Assert.True(forward.IsSuccessStatusCode, await forward.Content.ReadAsStringAsync());
        Assert.Equal(0, (await forward.Content.ReadFromJsonAsync<RouteDto>(StackFixture.Json))!.ActiveTargetPosition);
        await WaitForWebhookAsync(route.Name, automatic: false);
        Assert.Equal(2, (await stack.Api.GetFromJsonAsync<List<RollbackEventDto>>($"/api/routes/{route.Id}/events", StackFixture.Json))!.Count);
        // The operator's roll-forward is audited by the Api, under the caller's name.
        var audit = (await stack.Api.GetFromJsonAsync<PagedResult<AuditEntryDto>>($"/api/audit?resourceType=route&resourceId={route.Id}", StackFixture.Json))!.Items;
        Assert.Equal([("RollForwardRoute", "api-key (AppHost)"), ("AutomaticRollback", "system"), ("CreateRoute", "api-key (AppHost)")], audit.Select(e => (e.Action, e.Actor)));

        var window = await stack.Api.GetFromJsonAsync<RouteWindowDto>($"/api/routes/{route.Id}/window", StackFixture.Json);
        Assert.Equal($"{primary.Name}/deepseek-chat", window!.ActiveTarget);
    }

    [Fact]
    public async Task A_route_that_asks_for_it_rolls_forward_once_the_primary_is_healthy_again()
    {
        // A provider of its own: sim-primary's window may hold an earlier test's fast calls, which would hide the slow ones.
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var primary = await CreateProviderAsync(new ProviderRequest("forward-primary-" + Suffix(), sim + "/v1", StackFixture.SimulatorKey));
        var route = await CreateRouteAsync("forward", [(primary.Name, "deepseek-chat"), ("sim-fallback", "deepseek-chat")],
            new RouteThresholds(EvaluationIntervalSeconds: 1, MinCalls: 5, WindowSeconds: 10, AutoRollForward: true));
        await Configure(stack.SimPrimary, new { latencyMs = 700 });
        var created = await stack.Api.CreateAsync("fw.jsonl", JobApiClient.Jsonl(100, i => new { id = i, text = $"fw{i}" }), JobApiClient.Fields(route.Name));
        await WaitForPositionAsync(route.Id, 1);
        await Configure(stack.SimPrimary, new { latencyMs = 5 });
        await WaitForPositionAsync(route.Id, 0);
        var events = await stack.Api.GetFromJsonAsync<List<RollbackEventDto>>($"/api/routes/{route.Id}/events", StackFixture.Json);
        Assert.Equal(2, events!.Count);
        Assert.All(events, e => Assert.True(e.Automatic));
        Assert.StartsWith("automatic roll-forward", events[0].Reason);
        await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
    }

    /// <summary>
    /// Each retry of the same target after an attempt that got <paramref name="status"/>: the failed attempt's message,
    /// the wait the worker recorded, and the gap between the failed answer and the retry. A fallback starts at once
    /// and is left out.
    /// </summary>
    private async Task<List<(string Message, int Wait, double Gap)>> RetriesAfterAsync(Guid jobId, int status)
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new Npgsql.NpgsqlCommand("""
            SELECT a.error_message, n.wait_ms, extract(epoch FROM n.started_at - a.started_at) * 1000 - a.latency_ms AS gap_ms
            FROM attempts a JOIN attempts n ON n.item_id = a.item_id AND n.number = a.number + 1
            WHERE a.job_id = @job AND a.status_code = @status AND NOT n.fallback
            """, connection);
        command.Parameters.AddWithValue("job", jobId);
        command.Parameters.AddWithValue("status", status);
        var retries = new List<(string, int, double)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            retries.Add((reader.IsDBNull(0) ? "" : reader.GetString(0), reader.GetInt32(1), Convert.ToDouble(reader.GetValue(2))));
        }
        return retries;
    }

    private async Task WaitForPositionAsync(Guid routeId, int position)
    {
        // Two minutes: on a loaded machine the workers may still be draining an earlier test's records when the job starts.
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(2);
        while ((await stack.Api.GetFromJsonAsync<RouteDto>($"/api/routes/{routeId}", StackFixture.Json))!.ActiveTargetPosition != position)
        {
            if (DateTimeOffset.UtcNow > deadline)
            {
                // Say what the monitor saw, so a failure explains itself.
                var window = await stack.Api.GetStringAsync($"/api/routes/{routeId}/window");
                var health = await stack.Api.GetStringAsync("/api/providers/health");
                Assert.Fail($"the route did not move to target {position} within two minutes; window: {window}; health: {health}");
            }
            await Task.Delay(500);
        }
    }

    [Fact]
    public async Task Provider_health_and_circuits_are_visible()
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        List<ProviderHealthDto> health;
        do
        {
            await Task.Delay(500, wait.Token);
            health = (await stack.Api.GetFromJsonAsync<List<ProviderHealthDto>>("/api/providers/health", StackFixture.Json))!;
        }
        while (health.FirstOrDefault(h => h.Name == "sim-primary")?.LastCheck is null);
        var primary = health.Single(h => h.Name == "sim-primary");
        Assert.True(primary.LastCheck!.Healthy, primary.LastCheck.Message);
        Assert.Equal("closed", primary.Circuit);
    }

    private async Task WaitForWebhookAsync(string route, bool automatic)
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!stack.Webhooks.Any(w => w.GetProperty("route").GetString() == route && w.GetProperty("automatic").GetBoolean() == automatic))
        {
            await Task.Delay(200, wait.Token);
        }
        var hook = stack.Webhooks.Last(w => w.GetProperty("route").GetString() == route && w.GetProperty("automatic").GetBoolean() == automatic);
        foreach (var field in new[] { "from", "to", "reason", "time" })
        {
            Assert.True(hook.TryGetProperty(field, out _), $"the webhook has no {field}");
        }
    }

    /// <summary>Each error code (or status) of the job's attempts with its count, fallbacks apart: what a failure explains itself with.</summary>
    private async Task<string> AttemptSummaryAsync(Guid jobId)
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new Npgsql.NpgsqlCommand("""
            SELECT provider_name || ' ' || coalesce(error_code, status_code::text, '-') || CASE WHEN fallback THEN ' (fallback)' ELSE '' END || ': ' || count(*)
            FROM attempts WHERE job_id = @job GROUP BY provider_name, error_code, status_code, fallback ORDER BY 1
            """, connection);
        command.Parameters.AddWithValue("job", jobId);
        var lines = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            lines.Add(reader.GetString(0));
        }
        return string.Join("; ", lines);
    }

    private async Task<ProviderDto> CreateProviderAsync(ProviderRequest request)
    {
        var response = await stack.Api.PostAsJsonAsync("/api/providers", request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var provider = (await response.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.42m, 0.42m))).EnsureSuccessStatusCode();
        return provider;
    }

    private Task<RouteDto> CreateRouteAsync(string prefix, params (string Provider, string Model)[] targets) => CreateRouteAsync(prefix, targets, null);

    private async Task<RouteDto> CreateRouteAsync(string prefix, (string Provider, string Model)[] targets, RouteThresholds? thresholds)
    {
        var response = await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest($"{prefix}-{Suffix()}", targets.Select(t => new RouteTargetRequest(t.Provider, t.Model)).ToList(), thresholds));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<RouteDto>(StackFixture.Json))!;
    }

    private static string Suffix() => Guid.NewGuid().ToString("N")[..6];

    private static async Task Configure(HttpClient simulator, object settings) =>
        (await simulator.PutAsJsonAsync("/admin/config", settings)).EnsureSuccessStatusCode();
}
