using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>Operators control running jobs; crashes and refused keys lose nothing and pay nothing twice.</summary>
public sealed class JobControlTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task Pause_stops_new_calls_within_seconds_and_resume_finishes_the_job()
    {
        await SetLatency(stack.SimPrimary, 100);
        var created = await stack.Api.CreateAsync("p.jsonl", JobApiClient.Jsonl(3000, i => new { id = i, text = $"x{i}" }), JobApiClient.Fields("deepseek-chat"));
        await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Succeeded >= 200, TimeSpan.FromMinutes(1));

        var paused = await (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/pause", null)).Content.ReadFromJsonAsync<JobDto>(StackFixture.Json);
        Assert.Equal(JobState.Paused, paused!.State);
        await Task.Delay(TimeSpan.FromSeconds(3));
        // The ledger records every call: none may start while the job is paused.
        const string callsOfJob = "SELECT count(*) FROM attempts WHERE job_id = @job";
        var before = await stack.ScalarAsync<long>(callsOfJob, ("job", created.Job.Id));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(before, await stack.ScalarAsync<long>(callsOfJob, ("job", created.Job.Id)));
        var held = await stack.Api.GetJobAsync(created.Job.Id);
        Assert.True(held.Counters.Pending > 0, "the pause came too late to test: every item was already done");

        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/resume", null)).EnsureSuccessStatusCode();
        await SetLatency(stack.SimPrimary, 5);
        var done = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(3000, done.Counters.Succeeded);

        // The job's history says what moved it and who, in order.
        var history = await EventsAsync(created.Job.Id);
        Assert.Equal([(JobEventKind.Created, JobActor.Operator), (JobEventKind.Started, JobActor.Worker), (JobEventKind.Paused, JobActor.Operator),
            (JobEventKind.Resumed, JobActor.Operator), (JobEventKind.Completed, JobActor.Worker)], history.Select(e => (e.Kind, e.Actor)));
        Assert.Equal([null, JobState.Queued, JobState.Running, JobState.Paused, JobState.Running], history.Select(e => e.From));
        Assert.Equal([JobState.Queued, JobState.Running, JobState.Paused, JobState.Running, JobState.Completed], history.Select(e => e.To));
        Assert.Equal("paused by an operator", history[2].Reason);
        Assert.True(history.Zip(history.Skip(1)).All(p => p.First.At <= p.Second.At), "events out of time order");
    }

    [Fact]
    public async Task Cancel_keeps_finished_results_exportable()
    {
        await SetLatency(stack.SimPrimary, 100);
        var created = await stack.Api.CreateAsync("c.jsonl", JobApiClient.Jsonl(3000, i => new { id = i, text = $"x{i}" }), JobApiClient.Fields("deepseek-chat"));
        await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Succeeded >= 100, TimeSpan.FromMinutes(1));
        var cancel = await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);

        var job = await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Done == j.Counters.Total, TimeSpan.FromMinutes(1));
        Assert.Equal(JobState.Cancelled, job.State);
        Assert.True(job.Counters.Cancelled > 0);
        var exported = await stack.Api.ExportAsync(created.Job.Id);
        Assert.Equal(job.Counters.Succeeded, exported.Count(r => r.GetProperty("state").GetString() == "succeeded"));
        Assert.All(exported.Where(r => r.GetProperty("state").GetString() == "succeeded"), r => Assert.StartsWith("sim:", r.GetProperty("answer").GetString()));

        var again = await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        // The refused second cancel moved nothing, so it recorded nothing.
        var history = await EventsAsync(created.Job.Id);
        var cancelled = Assert.Single(history, e => e.Kind == JobEventKind.Cancelled);
        Assert.Equal((JobState.Running, JobState.Cancelled, JobActor.Operator, "cancelled by an operator"), (cancelled.From!.Value, cancelled.To, cancelled.Actor, cancelled.Reason));
        Assert.Same(cancelled, history[^1]);
    }

    [Fact]
    public async Task Retry_failed_reruns_only_the_failed_items()
    {
        // A 404 (the provider lost the model) is not retried and does not count against the provider's circuit.
        await Configure(stack.SimPrimary, new { models = new[] { "gpt-4.1" } });
        var route = await CreateRouteAsync("primary-only", ("sim-primary", "deepseek-chat"));
        var created = await stack.Api.CreateAsync("f.jsonl", JobApiClient.Jsonl(30, i => new { id = i, text = $"x{i}" }), JobApiClient.Fields(route.Name));
        var failed = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(30, failed.Counters.Failed);
        var item = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{created.Job.Id}/items?state=Failed", StackFixture.Json))!.Items[0];
        Assert.Equal("http_404", item.ErrorCode);
        var detail = await stack.Api.GetFromJsonAsync<ItemDetailDto>($"/api/jobs/{created.Job.Id}/items/{item.Id}", StackFixture.Json);
        Assert.Single(detail!.AttemptHistory); // not retried
        Assert.Contains("does not exist", detail.Summary.ErrorMessage);

        var none = await (await stack.Api.PostAsJsonAsync($"/api/jobs/{created.Job.Id}/retry-failed", new RetryFailedRequest("http_500"))).Content.ReadFromJsonAsync<RetryFailedResult>(StackFixture.Json);
        Assert.Equal(0, none!.Requeued);

        await stack.ResetSimulatorsAsync();
        var callsBefore = await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job", ("job", created.Job.Id));
        var retried = await (await stack.Api.PostAsJsonAsync($"/api/jobs/{created.Job.Id}/retry-failed", new RetryFailedRequest("http_404"))).Content.ReadFromJsonAsync<RetryFailedResult>(StackFixture.Json);
        Assert.Equal(30, retried!.Requeued);
        var done = await stack.Api.WaitForAsync(created.Job.Id, j => j.State == JobState.Completed && j.Counters.Succeeded == 30, TimeSpan.FromMinutes(2));
        Assert.Equal(0, done.Counters.Failed);
        Assert.Equal(30, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job", ("job", created.Job.Id)) - callsBefore);

        // Retrying none moved nothing; retrying 30 reopened the finished job, then it completed again.
        var history = await EventsAsync(created.Job.Id);
        Assert.Equal([JobEventKind.Created, JobEventKind.Started, JobEventKind.Completed, JobEventKind.RetriedFailed, JobEventKind.Completed], history.Select(e => e.Kind));
        var retry = history[3];
        Assert.Equal((JobState.Completed, JobState.Running, JobActor.Operator, 30), (retry.From!.Value, retry.To, retry.Actor, retry.Items!.Value));
        Assert.Equal("retrying 30 failed item(s) with error http_404", retry.Reason);
    }

    [Fact]
    public async Task A_job_over_its_budget_is_paused_by_the_budget_and_says_so()
    {
        await SetLatency(stack.SimPrimary, 50);
        var created = await stack.Api.CreateAsync("b.jsonl", JobApiClient.Jsonl(5000, i => new { id = i, text = $"budget {i}" }),
            JobApiClient.Fields("deepseek-chat", more: ("budgetUsd", "0.0005")));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Paused, TimeSpan.FromMinutes(1));
        Assert.StartsWith("budget reached: ", job.StateReason);
        Assert.True(job.Counters.Pending > 0, "the whole job ran before the budget stopped it");
        var paused = (await EventsAsync(created.Job.Id))[^1];
        Assert.Equal((JobEventKind.Paused, JobState.Running, JobState.Paused, JobActor.Budget), (paused.Kind, paused.From!.Value, paused.To, paused.Actor));
        Assert.Equal(job.StateReason, paused.Reason);
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/cancel", null)).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task A_killed_worker_loses_nothing_and_no_item_is_paid_twice()
    {
        await SetLatency(stack.SimPrimary, 30);
        (await stack.SimPrimary.PostAsync("/admin/reset", null)).EnsureSuccessStatusCode();
        var created = await stack.Api.CreateAsync("k.jsonl", JobApiClient.Jsonl(6000, i => new { id = $"k{i}", text = $"kill test {i}" }), JobApiClient.Fields("deepseek-chat"));
        await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Succeeded >= 600, TimeSpan.FromMinutes(1));

        var workers = stack.ServiceProcesses("Worker");
        Assert.True(workers.Count >= 2, $"expected two worker processes, found {workers.Count}");
        workers[0].Kill(); // SIGKILL: no shutdown, no drain, leases left behind.
        await workers[0].WaitForExitAsync();

        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(3));
        Assert.Equal(6000, job.Counters.Succeeded);
        Assert.Equal(0, job.Counters.Failed);
        Assert.Equal(6000, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @job AND state = 2 AND response_text IS NOT NULL", ("job", job.Id)));
        Assert.Equal(6000, await stack.ScalarAsync<long>("SELECT count(DISTINCT item_id) FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL", ("job", job.Id)));
        Assert.Equal(6000, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL", ("job", job.Id)));
        Assert.Equal(job.Counters.CostUsd, await stack.ScalarAsync<decimal>("SELECT sum(cost_usd) FROM items WHERE job_id = @job", ("job", job.Id)));

        // Every call the provider received is in the ledger: answered, or in doubt when its worker died with it.
        using var stats = System.Text.Json.JsonDocument.Parse(await stack.SimPrimary.GetStringAsync("/admin/stats"));
        var served = stats.RootElement.GetProperty("chatRequests").GetInt64();
        var recorded = await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code IS DISTINCT FROM 'circuit_open' AND error_code IS DISTINCT FROM 'internal'", ("job", job.Id));
        var inDoubt = await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'unknown'", ("job", job.Id));
        Assert.True(inDoubt > 0, "the killed worker had calls in flight; they should be recorded as in doubt");
        // No call vanishes: the answered ones are all recorded, and the in-doubt ones cover every call the provider
        // saw beyond them. In doubt is an upper bound: a call written down but not yet sent when the worker died
        // counts too, so recorded may exceed served by the calls of the last mark batch.
        Assert.True(recorded - inDoubt <= served, $"{recorded - inDoubt} answered attempts recorded but the provider saw only {served} calls");
        Assert.True(served <= recorded, $"the provider saw {served} calls but the ledger holds {recorded} (answered plus in doubt)");
        Assert.Equal(inDoubt, job.Counters.InDoubtCalls);
        Assert.True(job.Counters.InDoubtCostUsd > 0);
    }

    [Fact]
    public async Task A_refused_key_pauses_the_job_with_a_clear_reason()
    {
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var provider = await (await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest("wrong-key-" + Guid.NewGuid().ToString("N")[..6], sim + "/v1", "sk-wrong-key")))
            .Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json);
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider!.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.42m, 0.42m))).EnsureSuccessStatusCode();
        var route = await CreateRouteAsync("wrong-key-route", (provider.Name, "deepseek-chat"));
        var created = await stack.Api.CreateAsync("w.jsonl", JobApiClient.Jsonl(2000, i => new { id = i, text = "x" }), JobApiClient.Fields(route.Name));

        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Paused, TimeSpan.FromMinutes(1));
        Assert.Contains("401", job.StateReason);
        await Task.Delay(TimeSpan.FromSeconds(2));
        var settled = await stack.Api.GetJobAsync(created.Job.Id);
        Assert.True(settled.Counters.Failed < 500, $"the job burned through {settled.Counters.Failed} records before pausing");
        Assert.True(settled.Counters.Pending > 1000);
        var paused = Assert.Single(await EventsAsync(created.Job.Id), e => e.Kind == JobEventKind.Paused);
        Assert.Equal((JobActor.Worker, job.StateReason), (paused.Actor, paused.Reason));
    }

    [Fact]
    public async Task Items_fall_back_to_the_next_target_when_the_primary_is_down()
    {
        await Configure(stack.SimPrimary, new { error503Rate = 1.0 });
        var route = await CreateRouteAsync("fallback-route", ("sim-primary", "deepseek-chat"), ("sim-fallback", "deepseek-chat"));
        var created = await stack.Api.CreateAsync("fb.jsonl", JobApiClient.Jsonl(10, i => new { id = i, text = $"f{i}" }), JobApiClient.Fields(route.Name));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(10, job.Counters.Succeeded);
        var items = await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{created.Job.Id}/items", StackFixture.Json);
        var detail = await stack.Api.GetFromJsonAsync<ItemDetailDto>($"/api/jobs/{created.Job.Id}/items/{items!.Items[0].Id}", StackFixture.Json);
        Assert.Equal("sim-fallback", detail!.Summary.ProviderName);
        Assert.Contains(detail.AttemptHistory, a => a.ProviderName == "sim-primary" && a.StatusCode == 503);
        Assert.Contains(detail.AttemptHistory, a => a.ProviderName == "sim-fallback" && a.StatusCode == 200 && a.Fallback);
    }

    [Fact]
    public async Task The_leftovers_of_a_job_whose_provider_died_halfway_move_to_another_route()
    {
        // Enough records that the provider dies while most are still to do (two workers answer ~1,000 a second here).
        const int Records = 3000;
        // A provider of its own on sim-primary: its circuit opening must not touch the other tests' providers.
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var provider = await (await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest("dying-" + Guid.NewGuid().ToString("N")[..6], sim + "/v1", StackFixture.SimulatorKey)))
            .Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json);
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider!.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.27m, 1.1m))).EnsureSuccessStatusCode();
        var dying = await CreateRouteAsync("dying", (provider.Name, "deepseek-chat"));
        var rescue = await CreateRouteAsync("rescue", ("sim-fallback", "deepseek-chat"));
        await SetLatency(stack.SimPrimary, 30);
        var created = await stack.Api.CreateAsync("mv.jsonl", JobApiClient.Jsonl(Records, i => new { id = $"mv{i}", text = $"move {i}" }), JobApiClient.Fields(dying.Name));
        await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Succeeded >= 100, TimeSpan.FromMinutes(1));

        await Configure(stack.SimPrimary, new { error503Rate = 1.0 }); // the provider dies halfway
        await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Failed > 0, TimeSpan.FromMinutes(1));
        var unknown = await stack.Api.PostAsJsonAsync($"/api/jobs/{created.Job.Id}/move", new MoveLeftoversRequest("no-such-model"));
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        var move = await stack.Api.PostAsJsonAsync($"/api/jobs/{created.Job.Id}/move", new MoveLeftoversRequest(rescue.Name));
        Assert.True(move.IsSuccessStatusCode, await move.Content.ReadAsStringAsync());
        var moved = (await move.Content.ReadFromJsonAsync<MoveLeftoversResult>(StackFixture.Json))!;
        Assert.True(moved.Requeued > 0, "no failed record was requeued");
        Assert.Equal(rescue.Name, moved.Job.RouteName);

        var job = await stack.Api.WaitForAsync(created.Job.Id, j => j.State == JobState.Completed && j.Counters.Done == Records, TimeSpan.FromMinutes(2));
        Assert.True((Records, 0) == (job.Counters.Succeeded, job.Counters.Failed), $"{job.Counters.Succeeded} succeeded, {job.Counters.Failed} failed: " + await FailuresAsync(job.Id));
        // Every record answered once, by the provider that was up when it ran: the ones answered before the move were never sent again.
        Assert.Equal(Records, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND status_code = 200", ("job", job.Id)));
        var byDying = await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @job AND state = 2 AND provider_id = @provider", ("job", job.Id), ("provider", provider.Id));
        var byRescue = await stack.ScalarAsync<long>("SELECT count(*) FROM items i JOIN providers p ON p.id = i.provider_id WHERE i.job_id = @job AND i.state = 2 AND p.name = 'sim-fallback'", ("job", job.Id));
        Assert.True(byDying >= 100 && byRescue == moved.Unanswered && byDying + byRescue == Records, $"answered by the dying provider {byDying}, by the rescue route {byRescue}, {moved.Unanswered} left at the move");
        var history = await EventsAsync(job.Id);
        var move1 = Assert.Single(history, e => e.Kind == JobEventKind.MovedLeftovers);
        Assert.Equal((JobActor.Operator, moved.Unanswered), (move1.Actor, move1.Items!.Value));
        Assert.Contains(rescue.Name, move1.Reason);
        Assert.Equal(JobEventKind.Completed, history[^1].Kind);
    }

    private async Task<RouteDto> CreateRouteAsync(string prefix, params (string Provider, string Model)[] targets)
    {
        var name = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        var response = await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(name, targets.Select(t => new RouteTargetRequest(t.Provider, t.Model)).ToList()));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<RouteDto>(StackFixture.Json))!;
    }

    /// <summary>The failed records with their error and every attempt (provider, status, error): what a failure explains itself with.</summary>
    private async Task<string> FailuresAsync(Guid jobId)
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new Npgsql.NpgsqlCommand("""
            SELECT i.custom_id || ' ' || coalesce(i.error_code, '-') || ' [' || string_agg(a.number || ':' || a.provider_name || ' ' || coalesce(a.status_code::text, '') || ' ' || coalesce(a.error_code, 'ok'), ', ' ORDER BY a.number) || ']'
            FROM items i LEFT JOIN attempts a ON a.item_id = i.id WHERE i.job_id = @job AND i.state = 3 GROUP BY i.id
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

    private async Task<List<JobEventDto>> EventsAsync(Guid jobId) =>
        (await stack.Api.GetFromJsonAsync<List<JobEventDto>>($"/api/jobs/{jobId}/events", StackFixture.Json))!;

    private static async Task SetLatency(HttpClient simulator, int latencyMs) => await Configure(simulator, new { latencyMs });

    private static async Task Configure(HttpClient simulator, object settings) =>
        (await simulator.PutAsJsonAsync("/admin/config", settings)).EnsureSuccessStatusCode();
}
