using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>
/// The answers real providers send, replayed by the simulator from its corpus (Simulator/Corpus, written from the
/// providers' public documentation), through the whole stack: for each shape, whether it is retried, what the
/// ledger records, and that no export, batch read or item page breaks on it.
/// </summary>
public sealed class ProviderCorpusTests(StackFixture stack) : IAsyncLifetime
{
    private const decimal InputPrice = 2m, CachedPrice = 0.5m, OutputPrice = 8m;

    /// <summary>What the ledger must say of each shape. Charged: the attempts carry a cost (reported or estimated usage).</summary>
    public sealed record Expectation(string Shape, ItemState State, string? ErrorCode, bool Retried, bool Charged, string? UsageSource = null);

    public static readonly Expectation[] Shapes =
    [
        new("nginx-502-html", ItemState.Failed, "http_502", Retried: true, Charged: false),
        new("nginx-504-html", ItemState.Failed, "http_504", true, false),
        new("cloudflare-520-html", ItemState.Failed, "http_520", true, false),
        new("cloudflare-522-html", ItemState.Failed, "http_522", true, false),
        new("cloudflare-524-html", ItemState.Failed, "http_524", true, false),
        new("lb-503-plain", ItemState.Failed, "http_503", true, false),
        new("empty-502", ItemState.Failed, "http_502", true, false),
        new("empty-500", ItemState.Failed, "http_500", true, false),
        new("openai-500-json", ItemState.Failed, "http_500", true, false),
        new("openai-400-invalid", ItemState.Failed, "http_400", false, false),
        new("azure-400-content-filter", ItemState.Failed, "content_filter", false, false),
        new("gemini-400-array", ItemState.Failed, "http_400", false, false),
        new("gemini-429-array", ItemState.Failed, "http_429", true, false),
        new("vllm-400", ItemState.Failed, "http_400", false, false),
        new("ollama-404", ItemState.Failed, "http_404", false, false),
        new("ollama-500", ItemState.Failed, "http_500", true, false),
        new("status-408", ItemState.Failed, "http_408", true, false),
        new("status-409", ItemState.Failed, "http_409", true, false),
        new("status-413", ItemState.Failed, "http_413", false, false),
        new("status-422", ItemState.Failed, "http_422", false, false),
        new("status-499", ItemState.Failed, "http_499", true, false),
        new("anthropic-529-overloaded", ItemState.Failed, "http_529", true, false),
        new("refusal-200", ItemState.Failed, "refusal", false, true, UsageSources.Reported),
        new("length-200", ItemState.Succeeded, null, false, true, UsageSources.Reported),
        new("content-filter-200", ItemState.Failed, "content_filter", false, true, UsageSources.Reported),
        new("empty-choices-200", ItemState.Failed, "empty_choices", true, true, UsageSources.Reported),
        new("deepseek-reasoning-200", ItemState.Succeeded, null, false, true, UsageSources.Reported),
        new("no-usage-200", ItemState.Succeeded, null, false, true, UsageSources.Estimated),
        new("usage-details-200", ItemState.Succeeded, null, false, true, UsageSources.Reported),
        new("error-in-200", ItemState.Failed, "provider_error", true, false),
        new("sse-200", ItemState.Succeeded, null, false, true, UsageSources.Reported),
        new("gzip-200", ItemState.Succeeded, null, false, true, UsageSources.Reported),
        new("plain-text-200", ItemState.Failed, "malformed_response", true, false),
    ];

    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task Every_corpus_shape_is_judged_recorded_and_exported_without_breaking_anything()
    {
        // One provider, route and job per shape: five failures in a row each stay under the circuit's threshold of
        // ten, so every retryable shape shows its full five attempts.
        var jobs = new Dictionary<string, Guid>();
        foreach (var shape in Shapes)
        {
            var route = await CorpusRouteAsync(shape.Shape);
            var line = JsonSerializer.Serialize(new { id = shape.Shape, text = $"Classify this review [[corpus:{shape.Shape}]]" }) + "\n";
            jobs[shape.Shape] = (await stack.Api.CreateAsync($"{shape.Shape}.jsonl", line, JobApiClient.Fields(route))).Job.Id;
        }

        var failures = new List<string>();
        foreach (var shape in Shapes)
        {
            var job = await stack.Api.WaitForAsync(jobs[shape.Shape], j => j.Counters.Done == 1, TimeSpan.FromMinutes(2));
            var page = await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Id}/items", StackFixture.Json);
            var item = await stack.Api.GetFromJsonAsync<ItemDetailDto>($"/api/jobs/{job.Id}/items/{page!.Items.Single().Id}", StackFixture.Json);
            var s = item!.Summary;
            var sent = item.AttemptHistory.Where(a => a.ErrorCode != LedgerCodes.Internal).ToList();
            void Check(bool ok, string what)
            {
                if (!ok)
                {
                    failures.Add($"{shape.Shape}: {what} (state {s.State}, error {s.ErrorCode}: {s.ErrorMessage}, {sent.Count} attempts, cost {s.CostUsd}, usage {s.UsageSource})");
                }
            }
            Check(s.State == shape.State, $"state should be {shape.State}");
            Check(s.ErrorCode == shape.ErrorCode, $"error code should be {shape.ErrorCode ?? "none"}");
            Check(shape.Retried ? sent.Count == 5 : sent.Count == 1, shape.Retried ? "should be tried 5 times" : "should not be retried");
            Check(sent.All(a => a.ErrorCode is null || a.ErrorCode == shape.ErrorCode), "every attempt should record the same code");
            if (shape.Charged)
            {
                Check(s.CostUsd > 0 && job.Counters.CostUsd == s.CostUsd, "should be charged, and the job's cost should be the item's");
                Check(sent.All(a => a.CostUsd > 0 && a.UsageSource == shape.UsageSource), $"every attempt should be charged with {shape.UsageSource} usage");
                Check(job.Counters.InputTokens > 0, "the job should count the charged tokens");
            }
            else
            {
                Check(s.CostUsd is null or 0 && job.Counters.CostUsd == 0, "should cost nothing");
            }
            if (shape.State == ItemState.Succeeded)
            {
                Check(!string.IsNullOrEmpty(item.ResponseText), "should keep the answer's text");
                Check(s.UsageSource == shape.UsageSource, $"usage should be {shape.UsageSource}");
            }
            if (shape.State == ItemState.Failed && s.ErrorCode is not ("refusal" or "content_filter" or "empty_choices"))
            {
                Check(!string.IsNullOrWhiteSpace(s.ErrorMessage) && s.ErrorMessage!.Length <= 1000 && !s.ErrorMessage.Contains("<html", StringComparison.OrdinalIgnoreCase),
                    "should keep a short readable message, not the page");
            }
            await AssertExportsReadAsync(job.Id, shape.Shape, failures);
        }
        Assert.True(failures.Count == 0, string.Join('\n', failures));
    }

    [Fact]
    public async Task Usage_details_are_priced_and_a_missing_usage_is_estimated_never_zero()
    {
        var cached = await RunOneAsync("usage-details-200");
        Assert.Equal(3, cached.Item.CachedInputTokens);
        Assert.Equal(1, cached.Item.ReasoningTokens);
        var s = cached.Item.Summary;
        var expected = ((s.InputTokens!.Value - 3) * InputPrice + 3 * CachedPrice + s.OutputTokens!.Value * OutputPrice) / 1_000_000m;
        Assert.Equal(expected, s.CostUsd);
        Assert.Equal(3, cached.Job.Counters.CachedInputTokens);
        Assert.Equal(1, cached.Job.Counters.ReasoningTokens);

        var estimated = await RunOneAsync("no-usage-200");
        Assert.Equal(UsageSources.Estimated, estimated.Item.Summary.UsageSource);
        Assert.True(estimated.Item.Summary.InputTokens > 0 && estimated.Item.Summary.OutputTokens > 0);
        Assert.True(estimated.Job.Counters.CostUsd > 0);
        Assert.Equal(estimated.Job.Counters.CostUsd, estimated.Job.Counters.EstimatedUsageCostUsd);
        Assert.Equal(1.0, estimated.Job.Counters.EstimatedCostShare);
        var line = (await stack.Api.ExportAsync(estimated.Job.Id)).Single();
        Assert.Equal(UsageSources.Estimated, line.GetProperty("usage_source").GetString());
        var csv = await stack.Api.GetStringAsync($"/api/jobs/{estimated.Job.Id}/export?format=csv");
        Assert.Contains(",estimated,", csv);
    }

    [Fact]
    public async Task A_provider_out_of_credit_pauses_the_job_instead_of_failing_every_record()
    {
        // Calls that take a while, as at a real provider, so the pause lands while most records still wait.
        await stack.ResetSimulatorsAsync(primaryLatencyMs: 200);
        var route = await CorpusRouteAsync("quota");
        var lines = JobApiClient.Jsonl(2000, i => new { id = i, text = $"q{i} [[corpus:openai-429-insufficient-quota]]" });
        var created = await stack.Api.CreateAsync("quota.jsonl", lines, JobApiClient.Fields(route));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Paused, TimeSpan.FromMinutes(1));
        Assert.Contains("insufficient_quota", job.StateReason);
        await Task.Delay(2000);
        job = await stack.Api.GetJobAsync(job.Id);
        Assert.True(job.Counters.Failed < 1000, $"the job should stop long before failing every record; {job.Counters.Failed} failed");
        Assert.Equal(JobState.Paused, job.State);
        Assert.Equal(0, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code <> 'insufficient_quota'", ("job", job.Id)));
    }

    [Fact]
    public async Task Odd_answers_in_an_openai_batch_never_break_reading_listing_or_its_files()
    {
        var route = await CorpusRouteAsync("batch");
        // One retryable shape only: two would make ten failures in a row and open the provider's circuit.
        string[] shapes = ["nginx-502-html", "sse-200", "refusal-200", "no-usage-200", "gzip-200", "vllm-400", "status-413"];
        var lines = string.Join('\n', shapes.Select(shape => JsonSerializer.Serialize(new
        {
            custom_id = shape, method = "POST", url = "/v1/chat/completions",
            body = new { model = route, messages = new[] { new { role = "user", content = $"hello [[corpus:{shape}]]" } } },
        }))) + "\n";
        var upload = new MultipartFormDataContent { { new StringContent("batch"), "purpose" }, { new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(lines)), "file", "odd.jsonl" } };
        var file = await (await stack.Api.PostAsync("/v1/files", upload)).Content.ReadFromJsonAsync<JsonElement>();
        var created = await stack.Api.PostAsJsonAsync("/v1/batches", new { input_file_id = file.GetProperty("id").GetString(), endpoint = "/v1/chat/completions", completion_window = "24h" });
        Assert.True(created.IsSuccessStatusCode, await created.Content.ReadAsStringAsync());
        var batchId = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString();

        JsonElement batch;
        using (var wait = new CancellationTokenSource(TimeSpan.FromMinutes(2)))
        {
            do
            {
                await Task.Delay(500, wait.Token);
                var read = await stack.Api.GetAsync($"/v1/batches/{batchId}", wait.Token);
                Assert.Equal(HttpStatusCode.OK, read.StatusCode);
                batch = await read.Content.ReadFromJsonAsync<JsonElement>(wait.Token);
            }
            while (batch.GetProperty("status").GetString() != "completed");
        }
        Assert.Equal(HttpStatusCode.OK, (await stack.Api.GetAsync("/v1/batches?limit=100")).StatusCode);
        var counts = batch.GetProperty("request_counts");
        Assert.Equal(shapes.Length, counts.GetProperty("total").GetInt32());
        Assert.Equal(3, counts.GetProperty("completed").GetInt32());

        var output = await stack.Api.GetStringAsync($"/v1/files/{batch.GetProperty("output_file_id").GetString()}/content");
        var errors = await stack.Api.GetStringAsync($"/v1/files/{batch.GetProperty("error_file_id").GetString()}/content");
        var outLines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        var errLines = errors.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Equal(["gzip-200", "no-usage-200", "sse-200"], outLines.Select(l => l.GetProperty("custom_id").GetString()!).Order());
        // The event stream comes out as the chat completion it was read as.
        var sse = outLines.Single(l => l.GetProperty("custom_id").GetString() == "sse-200").GetProperty("response").GetProperty("body");
        Assert.Equal("chat.completion", sse.GetProperty("object").GetString());
        Assert.False(string.IsNullOrEmpty(sse.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));
        // An HTML page comes out as an OpenAI error object holding its text; an empty body as one with the reason.
        var html = errLines.Single(l => l.GetProperty("custom_id").GetString() == "nginx-502-html");
        Assert.Equal(502, html.GetProperty("response").GetProperty("status_code").GetInt32());
        Assert.Contains("nginx", html.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("message").GetString());
        Assert.Equal("http_502", html.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(4, errLines.Count);
    }

    private async Task<(JobDto Job, ItemDetailDto Item)> RunOneAsync(string shape)
    {
        var route = await CorpusRouteAsync(shape);
        var line = JsonSerializer.Serialize(new { id = "one", text = $"Classify [[corpus:{shape}]]" }) + "\n";
        var created = await stack.Api.CreateAsync("one.jsonl", line, JobApiClient.Fields(route));
        var job = await stack.Api.WaitForAsync(created.Job.Id, j => j.Counters.Done == 1, TimeSpan.FromMinutes(1));
        var page = await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Id}/items", StackFixture.Json);
        var item = await stack.Api.GetFromJsonAsync<ItemDetailDto>($"/api/jobs/{job.Id}/items/{page!.Items.Single().Id}", StackFixture.Json);
        return (job, item!);
    }

    /// <summary>Every export of the job reads as JSON lines (or CSV with one row), whatever the provider sent.</summary>
    private async Task AssertExportsReadAsync(Guid jobId, string shape, List<string> failures)
    {
        foreach (var format in new[] { "jsonl", "openai" })
        {
            var response = await stack.Api.GetAsync($"/api/jobs/{jobId}/export?format={format}");
            var text = await response.Content.ReadAsStringAsync();
            try
            {
                var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                if (response.StatusCode != HttpStatusCode.OK || lines.Length != 1)
                {
                    failures.Add($"{shape}: the {format} export answered {(int)response.StatusCode} with {lines.Length} lines");
                    continue;
                }
                using var document = JsonDocument.Parse(lines[0]);
                if (format == "openai" && document.RootElement.GetProperty("response") is { ValueKind: JsonValueKind.Object } r
                    && r.GetProperty("body").ValueKind != JsonValueKind.Object)
                {
                    failures.Add($"{shape}: the OpenAI line's response body is not an object");
                }
            }
            catch (JsonException e)
            {
                failures.Add($"{shape}: the {format} export is not JSON lines: {e.Message}");
            }
        }
        var csv = await stack.Api.GetAsync($"/api/jobs/{jobId}/export?format=csv");
        if (csv.StatusCode != HttpStatusCode.OK)
        {
            failures.Add($"{shape}: the CSV export answered {(int)csv.StatusCode}");
        }
    }

    /// <summary>A provider of its own in front of the primary simulator, priced so cached input shows, and a route to it.</summary>
    private async Task<string> CorpusRouteAsync(string shape)
    {
        var name = $"corpus-{shape}-{Guid.NewGuid().ToString("N")[..6]}";
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var response = await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest(name, sim + "/v1", StackFixture.SimulatorKey));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var provider = (await response.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        var price = await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat",
            new ModelPriceDto("deepseek-chat", InputPrice, OutputPrice, CachedInputPricePerMTok: CachedPrice));
        Assert.True(price.IsSuccessStatusCode, await price.Content.ReadAsStringAsync());
        var route = await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(name, [new RouteTargetRequest(name, "deepseek-chat")]));
        Assert.True(route.IsSuccessStatusCode, await route.Content.ReadAsStringAsync());
        return name;
    }
}
