using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Simulator;

namespace AspireBatch.Tests;

/// <summary>
/// Rehearsals on the real stack with two simulators configured differently: the baseline on sim-primary (fast, no
/// faults, dear), the candidate on sim-fallback (slower, 5 % of calls fail with a 500 at first, cheap, and it labels
/// 20 % of the prompts differently), so agreement is below 100 % and exactly computable from the simulator's answers.
/// </summary>
public sealed class RehearsalTests(StackFixture stack) : IAsyncLifetime
{
    private static readonly string[] Labels = ["positive", "negative", "neutral"];
    private static readonly string[] Topics = ["billing", "billing", "billing", "delivery", "delivery", "other"];
    private const double CandidateDisagrees = 0.2;
    private const string CandidateSalt = "candidate";

    private string _baseline = "";
    private string _candidate = "";

    public async ValueTask InitializeAsync()
    {
        await stack.ResetSimulatorsAsync();
        await Configure(stack.SimPrimary, new { labels = Labels, latencyMs = 5 });
        await Configure(stack.SimFallback, new { labels = Labels, disagreeRate = CandidateDisagrees, answerSalt = CandidateSalt, latencyMs = 60, error500Rate = 0.05, seed = 5 });
        var suffix = Guid.NewGuid().ToString("N")[..6];
        _baseline = (await CreateProviderAsync("reh-base-" + suffix, stack.SimPrimary, 1.0m, 2.0m)).Name;
        _candidate = (await CreateProviderAsync("reh-cheap-" + suffix, stack.SimFallback, 0.1m, 0.2m)).Name;
    }

    public async ValueTask DisposeAsync()
    {
        // Their deepseek-chat is the cheapest in the catalog: left enabled, later tests' "deepseek-chat" would resolve to them.
        foreach (var provider in _providers)
        {
            (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}", provider.Request with { Enabled = false })).EnsureSuccessStatusCode();
        }
        await stack.ResetSimulatorsAsync();
    }

    private readonly List<(Guid Id, ProviderRequest Request)> _providers = [];

    [Fact]
    public async Task A_stratified_rehearsal_compares_the_candidate_with_the_baseline_and_adopts_it_into_a_new_route()
    {
        var source = await SourceJobAsync(300);
        var rehearsal = await StartAsync(new RehearsalRequest(source.Id, new SampleRequest(100, SampleStrategy.Stratified, 7, "topic"),
            [new RehearsalTargetRequest(Provider: _baseline, Model: "deepseek-chat", Baseline: true), new RehearsalTargetRequest(Provider: _candidate, Model: "deepseek-chat")],
            new JudgeRequest(JudgeKind.Label), BudgetUsd: 5m, MonthlyRecords: 1_000_000, Name: "strat"));
        Assert.Equal(100, rehearsal.SampledItems);
        Assert.Equal(300, rehearsal.SourceRecords);
        var done = await WaitForCompletedAsync(rehearsal.Id);

        // Stratified: each topic keeps its share of the source (billing 1/2, delivery 1/3, other 1/6).
        var topics = await TopicCountsAsync(done.Targets[0].JobId);
        Assert.InRange(topics["billing"], 49, 51);
        Assert.InRange(topics["delivery"], 32, 34);
        Assert.InRange(topics["other"], 16, 18);

        var baseline = done.Targets[0];
        var candidate = done.Targets[1];
        Assert.True(baseline.IsBaseline);
        Assert.Equal(100, baseline.Succeeded);
        Assert.Equal(100, candidate.Records);
        Assert.Equal(100, candidate.Succeeded + candidate.Failed);
        Assert.Null(baseline.AgreementWithBaseline);

        // The agreement is what the two simulators' answers say it must be, record by record.
        var records = await RecordsAsync(done.Id, disagreementsOnly: false);
        Assert.Equal(100, records.TotalCount);
        var compared = records.Items.Where(r => r.Answers.All(a => a.State == ItemState.Succeeded)).ToList();
        var expectedAgree = compared.Count(r => Expected(r.CustomId, salt: "", 0) == Expected(r.CustomId, CandidateSalt, CandidateDisagrees));
        Assert.Equal(compared.Count, candidate.Compared);
        Assert.Equal((double)expectedAgree / compared.Count, candidate.AgreementWithBaseline!.Value, 6);
        Assert.InRange(candidate.AgreementWithBaseline!.Value, 0.6, 0.95);
        Assert.All(compared, r => Assert.Equal(Expected(r.CustomId, "", 0), r.Answers[0].Label));
        Assert.Equal(candidate.AgreementWithBaseline, done.Pairwise[0][1]);
        Assert.Equal(done.Pairwise[0][1], done.Pairwise[1][0]);

        // The confusion matrix holds every compared record; its diagonal the agreeing ones.
        var matrix = Assert.Single(done.ConfusionMatrices);
        Assert.Equal(compared.Count, matrix.Counts.Sum(row => row.Sum()));
        Assert.Equal(expectedAgree, matrix.Labels.Select((_, i) => matrix.Counts[i][i]).Sum());
        Assert.Equal(Labels.Order(), matrix.Labels.Order());

        var disagreements = await RecordsAsync(done.Id, disagreementsOnly: true);
        Assert.Equal(compared.Count - expectedAgree, disagreements.TotalCount);
        Assert.Equal(done.Disagreements, disagreements.TotalCount);
        Assert.All(disagreements.Items, r => Assert.NotEqual(r.Answers[0].Label, r.Answers[1].Label));

        // Cost: read from the ledgers, projected on the source and the monthly volume.
        Assert.True(candidate.CostUsd > 0 && candidate.CostUsd < baseline.CostUsd, $"candidate {candidate.CostUsd} baseline {baseline.CostUsd}");
        var settled = candidate.Succeeded + candidate.Failed;
        Assert.Equal(Math.Round(candidate.CostUsd / settled * 1000, 6), candidate.CostPer1kRecords);
        Assert.Equal(Math.Round(candidate.CostPer1kRecords!.Value * 300 / 1000, 4), candidate.ProjectedSourceCostUsd);
        Assert.Equal(Math.Round(candidate.CostPer1kRecords!.Value * 1000, 2), candidate.MonthlyCostUsd);
        // The candidate's simulator waits 60 ms on every call: a floor, not a wall-clock race with the baseline's (a busy CI machine queued the 5 ms baseline to a 188 ms p95).
        Assert.True(candidate.P95LatencyMs >= 60 && candidate.MeanLatencyMs >= 60, $"candidate p95 {candidate.P95LatencyMs}, mean {candidate.MeanLatencyMs}");
        Assert.Equal(candidate.Succeeded, candidate.LatencyHistogram.Sum(b => b.Count));

        // The exports carry the same records.
        var csv = (await stack.Api.GetStringAsync($"/api/rehearsals/{done.Id}/export?format=csv")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(101, csv.Length);
        Assert.Contains($"{_candidate}/deepseek-chat agrees", csv[0]);
        using var json = JsonDocument.Parse(await stack.Api.GetStringAsync($"/api/rehearsals/{done.Id}/export?format=json"));
        Assert.Equal(100, json.RootElement.GetProperty("records").GetArrayLength());
        Assert.Equal(candidate.AgreementWithBaseline!.Value, json.RootElement.GetProperty("rehearsal").GetProperty("targets")[1].GetProperty("agreementWithBaseline").GetDouble(), 6);

        // Adopt: the proposal's latency threshold is twice the candidate's measured p95, and can be edited.
        var routeName = "adopted-" + Guid.NewGuid().ToString("N")[..6];
        var proposal = (await stack.Api.GetFromJsonAsync<AdoptionProposal>($"/api/rehearsals/{done.Id}/adoption?candidate=1&route={routeName}", StackFixture.Json))!;
        Assert.Equal(Math.Ceiling(candidate.P95LatencyMs * 2 / 10) * 10, proposal.Thresholds.MaxMeanLatencyMs);
        Assert.True(proposal.Thresholds.AutoRollback);
        var thresholds = proposal.Thresholds with { MinCalls = 7 };
        var adopted = await stack.Api.PostAsJsonAsync($"/api/rehearsals/{done.Id}/adopt", new AdoptRequest(1, routeName, thresholds));
        Assert.True(adopted.IsSuccessStatusCode, await adopted.Content.ReadAsStringAsync());
        var adoption = (await adopted.Content.ReadFromJsonAsync<RouteAdoptionDto>(StackFixture.Json))!;

        var route = (await stack.Api.GetFromJsonAsync<RouteDto>($"/api/routes/{adoption.RouteId}", StackFixture.Json))!;
        Assert.Equal(0, route.ActiveTargetPosition);
        Assert.Equal([_candidate, _baseline], route.Targets.Select(t => t.ProviderName));
        Assert.True(route.Thresholds.AutoRollback);
        Assert.Equal(7, route.Thresholds.MinCalls);
        Assert.Equal(proposal.Thresholds.MaxMeanLatencyMs, route.Thresholds.MaxMeanLatencyMs);
        var history = (await stack.Api.GetFromJsonAsync<List<RollbackEventDto>>($"/api/routes/{route.Id}/events", StackFixture.Json))!;
        Assert.Contains(history, e => e.Id == adoption.EventId && e.ToTarget == $"{_candidate}/deepseek-chat");
        var read = (await stack.Api.GetFromJsonAsync<RehearsalDto>($"/api/rehearsals/{done.Id}", StackFixture.Json))!;
        Assert.Equal(adoption.EventId, Assert.Single(read.Adoptions).EventId);
        await WaitForWebhookAsync(routeName, hook =>
        {
            Assert.Equal("Adopted", hook.GetProperty("kind").GetString());
            Assert.Equal(done.Id, hook.GetProperty("rehearsalId").GetGuid());
        });
    }

    [Fact]
    public async Task Adopting_into_an_existing_route_puts_the_candidate_first_and_the_current_target_next()
    {
        var routeName = "current-" + Guid.NewGuid().ToString("N")[..6];
        var created = await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(routeName, [new RouteTargetRequest(_baseline, "deepseek-chat")]));
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var source = await SourceJobAsync(40, model: routeName);
        // A slow baseline keeps the rehearsal running while the first adoption is asked.
        await Configure(stack.SimPrimary, new { latencyMs = 1500 });
        var rehearsal = await StartAsync(new RehearsalRequest(source.Id, new SampleRequest(20, SampleStrategy.First),
            [new RehearsalTargetRequest(Route: routeName, Baseline: true), new RehearsalTargetRequest(Provider: _candidate, Model: "deepseek-chat")],
            new JudgeRequest(JudgeKind.Exact)));
        Assert.Equal($"route {routeName}", rehearsal.Targets[0].Label);
        var early = await stack.Api.PostAsJsonAsync($"/api/rehearsals/{rehearsal.Id}/adopt", new AdoptRequest(1));
        Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);
        await Configure(stack.SimPrimary, new { latencyMs = 5 });

        var done = await WaitForCompletedAsync(rehearsal.Id);
        var first = await RecordsAsync(done.Id, disagreementsOnly: false);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), first.Items.Select(r => r.CustomId));
        Assert.Equal(HttpStatusCode.BadRequest, (await stack.Api.PostAsJsonAsync($"/api/rehearsals/{done.Id}/adopt", new AdoptRequest(0))).StatusCode);

        // The baseline is the route: the adoption needs no route name.
        var adopted = await stack.Api.PostAsJsonAsync($"/api/rehearsals/{done.Id}/adopt", new AdoptRequest(1, Reason: "cheaper at the same answers"));
        Assert.True(adopted.IsSuccessStatusCode, await adopted.Content.ReadAsStringAsync());
        Assert.Equal("cheaper at the same answers", (await adopted.Content.ReadFromJsonAsync<RouteAdoptionDto>(StackFixture.Json))!.Reason);
        var route = (await stack.Api.GetFromJsonAsync<List<RouteDto>>("/api/routes", StackFixture.Json))!.Single(r => r.Name == routeName);
        Assert.Equal([_candidate, _baseline], route.Targets.Select(t => t.ProviderName));
        Assert.Equal(0, route.ActiveTargetPosition);

        // New work on the route goes to the candidate.
        var after = await stack.Api.CreateAsync("after.jsonl", JobApiClient.Jsonl(10, i => new { id = i, text = $"after {i}", topic = "x" }), JobApiClient.Fields(routeName));
        await stack.Api.WaitForStateAsync(after.Job.Id, JobState.Completed, TimeSpan.FromMinutes(1));
        var providers = (await stack.Api.ExportAsync(after.Job.Id)).Select(r => r.GetProperty("provider").GetString()).Distinct().ToList();
        Assert.Equal([_candidate], providers);
    }

    [Fact]
    public async Task Adopting_as_a_canary_keeps_the_current_target_primary_and_gives_the_candidate_its_share()
    {
        var routeName = "canary-" + Guid.NewGuid().ToString("N")[..6];
        var created = await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(routeName, [new RouteTargetRequest(_baseline, "deepseek-chat")]));
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var source = await SourceJobAsync(30, model: routeName);
        var rehearsal = await StartAsync(new RehearsalRequest(source.Id, new SampleRequest(10),
            [new RehearsalTargetRequest(Route: routeName), new RehearsalTargetRequest(Provider: _candidate, Model: "deepseek-chat")]));
        var done = await WaitForCompletedAsync(rehearsal.Id);
        Assert.Equal(HttpStatusCode.BadRequest, (await stack.Api.PostAsJsonAsync($"/api/rehearsals/{done.Id}/adopt", new AdoptRequest(1, CanaryWeight: 100))).StatusCode);

        var adopted = await stack.Api.PostAsJsonAsync($"/api/rehearsals/{done.Id}/adopt", new AdoptRequest(1, CanaryWeight: 10));
        Assert.True(adopted.IsSuccessStatusCode, await adopted.Content.ReadAsStringAsync());
        Assert.Contains("canary taking 10 %", (await adopted.Content.ReadFromJsonAsync<RouteAdoptionDto>(StackFixture.Json))!.Reason);
        var route = (await stack.Api.GetFromJsonAsync<List<RouteDto>>("/api/routes", StackFixture.Json))!.Single(r => r.Name == routeName);
        Assert.Equal(0, route.ActiveTargetPosition);
        Assert.Equal([(_baseline, 90), (_candidate, 10)], route.Targets.Select(t => (t.ProviderName, t.Weight)));
        Assert.True(route.Thresholds.AutoRollback);
    }

    [Fact]
    public async Task The_same_seed_draws_the_same_records_and_a_cancelled_rehearsal_cancels_its_jobs()
    {
        var source = await SourceJobAsync(200);
        RehearsalRequest Request(int seed) => new(source.Id, new SampleRequest(30, SampleStrategy.Random, seed),
            [new RehearsalTargetRequest(Provider: _baseline, Model: "deepseek-chat"), new RehearsalTargetRequest(Provider: _candidate, Model: "deepseek-chat")],
            new JudgeRequest(JudgeKind.None));
        // Both targets slow (the candidate is on sim-fallback), so neither job finishes before the cancel reaches it.
        await Configure(stack.SimPrimary, new { latencyMs = 2000 });
        await Configure(stack.SimFallback, new { latencyMs = 2000 });
        var a = await StartAsync(Request(3));
        var cancel = await stack.Api.PostAsync($"/api/rehearsals/{a.Id}/cancel", null);
        Assert.True(cancel.IsSuccessStatusCode, await cancel.Content.ReadAsStringAsync());
        var cancelled = (await cancel.Content.ReadFromJsonAsync<RehearsalDto>(StackFixture.Json))!;
        Assert.Equal(RehearsalState.Cancelled, cancelled.State);
        foreach (var target in cancelled.Targets)
        {
            await stack.Api.WaitForStateAsync(target.JobId, JobState.Cancelled, TimeSpan.FromSeconds(30));
        }
        Assert.Equal(HttpStatusCode.Conflict, (await stack.Api.PostAsync($"/api/rehearsals/{a.Id}/cancel", null)).StatusCode);
        await Configure(stack.SimPrimary, new { latencyMs = 5 });
        await Configure(stack.SimFallback, new { latencyMs = 60 }); // as InitializeAsync set it

        var b = await StartAsync(Request(3));
        var c = await StartAsync(Request(4));
        var idsA = await SampleIdsAsync(cancelled.Targets[0].JobId);
        Assert.Equal(30, idsA.Count);
        Assert.Equal(idsA, await SampleIdsAsync(b.Targets[0].JobId));
        Assert.Equal(idsA, await SampleIdsAsync(b.Targets[1].JobId));
        Assert.NotEqual(idsA, await SampleIdsAsync(c.Targets[0].JobId));
        var done = await WaitForCompletedAsync(b.Id);
        Assert.Null(done.Targets[1].AgreementWithBaseline);
        Assert.Contains((await stack.Api.GetFromJsonAsync<List<RehearsalSummaryDto>>("/api/rehearsals", StackFixture.Json))!, r => r.Id == a.Id && r.State == RehearsalState.Cancelled);
        await WaitForCompletedAsync(c.Id);
    }

    [Fact]
    public async Task The_budget_cap_is_shared_by_the_targets_and_pauses_a_rehearsal_that_reaches_it()
    {
        // Calls in flight finish when a budget pauses a job (up to 100 here), so the sample is much larger than that.
        var source = await SourceJobAsync(1500);
        var rehearsal = await StartAsync(new RehearsalRequest(source.Id, new SampleRequest(1000),
            [new RehearsalTargetRequest(Provider: _baseline, Model: "deepseek-chat"), new RehearsalTargetRequest(Provider: _candidate, Model: "deepseek-chat")],
            BudgetUsd: 0.0002m));
        foreach (var target in rehearsal.Targets)
        {
            Assert.Equal(0.0001m, (await stack.Api.GetJobAsync(target.JobId)).BudgetUsd);
        }
        using var wait = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        RehearsalDto read;
        do
        {
            await Task.Delay(300, wait.Token);
            read = (await stack.Api.GetFromJsonAsync<RehearsalDto>($"/api/rehearsals/{rehearsal.Id}", StackFixture.Json))!;
        }
        while (read.State == RehearsalState.Running);
        // The dear baseline runs out of its share long before the sample ends; the comparison so far stays readable.
        Assert.Equal(RehearsalState.Paused, read.State);
        var baseline = read.Targets[0];
        Assert.Equal(JobState.Paused, baseline.JobState);
        Assert.True(baseline.Unfinished > 0, $"{baseline.Succeeded} answered of {baseline.Records}");
        Assert.Equal(HttpStatusCode.Conflict, (await stack.Api.PostAsJsonAsync($"/api/rehearsals/{read.Id}/adopt", new AdoptRequest(1, "never-" + Guid.NewGuid().ToString("N")[..6]))).StatusCode);
        Assert.True((await stack.Api.PostAsync($"/api/rehearsals/{read.Id}/cancel", null)).IsSuccessStatusCode);
    }

    [Fact]
    public async Task An_upload_becomes_a_paused_source_job_and_a_bad_request_creates_nothing()
    {
        var csv = "id,text,topic\n" + string.Join('\n', Enumerable.Range(0, 30).Select(i => $"{i},upload {i},billing")) + "\n";
        var rehearsal = new RehearsalRequest(null, new SampleRequest(10),
            [new RehearsalTargetRequest(Provider: _baseline, Model: "deepseek-chat", Baseline: true), new RehearsalTargetRequest(Provider: _candidate, Model: "deepseek-chat")],
            new JudgeRequest(JudgeKind.Normalized), Name: "upload");
        var response = await stack.Api.PostAsync("/api/rehearsals/upload", UploadForm("r.csv", csv, rehearsal));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var created = (await response.Content.ReadFromJsonAsync<RehearsalDto>(StackFixture.Json))!;
        var source = await stack.Api.GetJobAsync(created.SourceJobId);
        Assert.Equal(JobState.Paused, source.State);
        Assert.Equal(30, source.Counters.Total);
        var done = await WaitForCompletedAsync(created.Id);
        Assert.Equal(10, done.SampledItems);
        Assert.All(done.Targets, t => Assert.Equal(10, t.Records));

        var before = await CountsAsync();
        var badLine = "id,text,topic\n1,a,billing\n1,b,billing\n";
        var refused = await stack.Api.PostAsync("/api/rehearsals/upload", UploadForm("bad.csv", badLine, rehearsal));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains("line 3", await refused.Content.ReadAsStringAsync());
        var oneTarget = await stack.Api.PostAsync("/api/rehearsals/upload", UploadForm("r.csv", csv, rehearsal with { Targets = [rehearsal.Targets[0]] }));
        Assert.Equal(HttpStatusCode.BadRequest, oneTarget.StatusCode);
        Assert.Equal(before, await CountsAsync());
    }

    [Theory]
    [InlineData("sample.size", 0, "random", null, "label", null, 2, 0)]
    [InlineData("sample.field", 10, "stratified", null, "label", null, 2, 0)]
    [InlineData("targets", 10, "random", null, "label", null, 1, 0)]
    [InlineData("targets", 10, "random", null, "label", null, 6, 0)]
    [InlineData("targets", 10, "random", null, "label", null, 2, 2)]
    [InlineData("judge", 10, "random", null, "jsonFields", null, 2, 0)]
    [InlineData("judge", 10, "random", null, "label", "([a-z", 2, 0)]
    [InlineData("targets[1]", 10, "random", null, "exact", null, -1, 0)]
    public async Task A_bad_rehearsal_is_refused_with_the_field_at_fault_and_creates_nothing(
        string field, int size, string strategy, string? stratifyField, string judge, string? pattern, int targets, int baselines)
    {
        var source = await SourceJobAsync(20);
        var list = Enumerable.Range(0, Math.Max(2, Math.Abs(targets)))
            .Select(i => new RehearsalTargetRequest(Provider: i == 1 && targets < 0 ? "no-such-provider" : i % 2 == 0 ? _baseline : _candidate,
                Model: i < 2 ? "deepseek-chat" : "gpt-4.1", Baseline: i < baselines)).Take(targets < 0 ? 2 : targets).ToList();
        var body = new
        {
            sourceJobId = source.Id,
            sample = new { size, strategy, field = stratifyField },
            targets = list,
            judge = new { kind = judge, pattern },
        };
        var before = await CountsAsync();
        var response = await stack.Api.PostAsJsonAsync("/api/rehearsals", body, StackFixture.Json);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(problem.RootElement.GetProperty("errors").TryGetProperty(field, out _), problem.RootElement.ToString());
        Assert.Equal(before, await CountsAsync());
    }

    private static string Expected(string customId, string salt, double disagree) =>
        SimulatorAnswers.Answer("deepseek-chat", [("user", $"Classify: record {customId}")], new AnswerStyle(Labels, disagree, salt));

    private async Task<JobDto> SourceJobAsync(int count, string model = "deepseek-chat")
    {
        var created = await stack.Api.CreateAsync("source.jsonl",
            JobApiClient.Jsonl(count, i => new { id = i, text = $"record {i}", topic = Topics[i % Topics.Length] }),
            JobApiClient.Fields(model, more: ("startPaused", "true")));
        return created.Job;
    }

    private async Task<RehearsalDto> StartAsync(RehearsalRequest request)
    {
        var response = await stack.Api.PostAsJsonAsync("/api/rehearsals", request, StackFixture.Json);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<RehearsalDto>(StackFixture.Json))!;
    }

    private async Task<RehearsalDto> WaitForCompletedAsync(Guid id)
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        while (true)
        {
            var rehearsal = (await stack.Api.GetFromJsonAsync<RehearsalDto>($"/api/rehearsals/{id}", StackFixture.Json))!;
            if (rehearsal.State == RehearsalState.Completed)
            {
                return rehearsal;
            }
            if (wait.IsCancellationRequested)
            {
                Assert.Fail($"rehearsal {id} is still {rehearsal.State}: {string.Join("; ", rehearsal.Targets.Select(t => $"{t.Label} {t.JobState} {t.Succeeded}+{t.Failed}/{t.Records}"))}");
            }
            await Task.Delay(300);
        }
    }

    private async Task<PagedResult<RehearsalRecordDto>> RecordsAsync(Guid id, bool disagreementsOnly) =>
        (await stack.Api.GetFromJsonAsync<PagedResult<RehearsalRecordDto>>($"/api/rehearsals/{id}/records?disagreements={disagreementsOnly}&pageSize=500", StackFixture.Json))!;

    private async Task<Dictionary<string, int>> TopicCountsAsync(Guid jobId)
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT payload->>'topic', count(*)::int FROM items WHERE job_id = @job GROUP BY 1", connection);
        command.Parameters.AddWithValue("job", jobId);
        var counts = new Dictionary<string, int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt32(1);
        }
        return counts;
    }

    private async Task<List<string>> SampleIdsAsync(Guid jobId)
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT custom_id FROM items WHERE job_id = @job ORDER BY custom_id", connection);
        command.Parameters.AddWithValue("job", jobId);
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }
        return ids;
    }

    /// <summary>Rehearsals and jobs stored: a refused request must leave both unchanged.</summary>
    private async Task<(long Rehearsals, long Jobs)> CountsAsync() =>
        (await stack.ScalarAsync<long>("SELECT count(*) FROM rehearsals"), await stack.ScalarAsync<long>("SELECT count(*) FROM jobs"));

    private static MultipartFormDataContent UploadForm(string fileName, string content, RehearsalRequest rehearsal)
    {
        var form = JobApiClient.Form(fileName, content, new Dictionary<string, string?> { ["userTemplate"] = "Classify: {{text}}" });
        form.Add(new StringContent(JsonSerializer.Serialize(rehearsal, StackFixture.Json)), "rehearsal");
        return form;
    }

    private async Task WaitForWebhookAsync(string route, Action<JsonElement> check)
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!stack.Webhooks.Any(w => w.GetProperty("route").GetString() == route))
        {
            await Task.Delay(200, wait.Token);
        }
        check(stack.Webhooks.Last(w => w.GetProperty("route").GetString() == route));
    }

    private async Task<ProviderDto> CreateProviderAsync(string name, HttpClient simulator, decimal input, decimal output)
    {
        var request = new ProviderRequest(name, simulator.BaseAddress!.ToString().TrimEnd('/') + "/v1", StackFixture.SimulatorKey);
        var response = await stack.Api.PostAsJsonAsync("/api/providers", request);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var provider = (await response.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        _providers.Add((provider.Id, request));
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", input, output))).EnsureSuccessStatusCode();
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/gpt-4.1", new ModelPriceDto("gpt-4.1", input, output))).EnsureSuccessStatusCode();
        return provider;
    }

    private static async Task Configure(HttpClient simulator, object settings) =>
        (await simulator.PutAsJsonAsync("/admin/config", settings)).EnsureSuccessStatusCode();
}
