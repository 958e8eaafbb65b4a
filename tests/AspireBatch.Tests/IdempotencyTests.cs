using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using AspireBatch.Contracts;
using Microsoft.Extensions.DependencyInjection;

namespace AspireBatch.Tests;

/// <summary>
/// `Idempotency-Key` on `POST /api/jobs` and `POST /v1/batches`: a client that retries (after a timeout, a dropped
/// connection, or the Api dying under it) gets the job the first request made, never a second one.
/// </summary>
public sealed class IdempotencyTests(StackFixture stack) : IAsyncLifetime
{
    private const string KeyHeader = "Idempotency-Key";

    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task The_same_key_twice_on_api_jobs_gives_the_same_job_and_creates_one()
    {
        var key = $"jobs-{Guid.NewGuid()}";
        var content = JobApiClient.Jsonl(20, i => new { id = $"i{i}", text = $"idempotent {i}" });

        var (firstStatus, first, firstReplayed) = await CreateJobAsync(key, content);
        var (secondStatus, second, secondReplayed) = await CreateJobAsync(key, content);

        Assert.Equal(HttpStatusCode.Created, firstStatus);
        Assert.Equal(HttpStatusCode.Created, secondStatus);
        Assert.False(firstReplayed);
        Assert.True(secondReplayed);
        Assert.Equal(first.Job.Id, second.Job.Id);
        Assert.Equal(first.Estimate.Items, second.Estimate.Items);
        Assert.Equal(first.Estimate.InputTokens, second.Estimate.InputTokens);
        Assert.Equal(1, await JobsWithKeyAsync(key, isBatch: false));
        Assert.Equal(20, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @job", ("job", first.Job.Id)));

        // A reused key with another file answers the first job, as Stripe does (docs/decisions.md).
        var (otherStatus, other, _) = await CreateJobAsync(key, JobApiClient.Jsonl(3, i => new { id = $"o{i}", text = "other" }));
        Assert.Equal(HttpStatusCode.Created, otherStatus);
        Assert.Equal(first.Job.Id, other.Job.Id);
        Assert.Equal(1, await JobsWithKeyAsync(key, isBatch: false));
    }

    [Fact]
    public async Task Concurrent_requests_with_one_key_on_api_jobs_all_get_the_winners_job()
    {
        var key = $"race-{Guid.NewGuid()}";
        var content = JobApiClient.Jsonl(5000, i => new { id = $"r{i}", text = $"race {i}" });

        var answers = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => CreateJobAsync(key, content)));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.Created, a.Status));
        Assert.Single(answers.Select(a => a.Created.Job.Id).Distinct());
        Assert.Equal(1, await JobsWithKeyAsync(key, isBatch: false));
        Assert.Equal(5000, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @job", ("job", answers[0].Created.Job.Id)));
    }

    [Fact]
    public async Task The_same_key_twice_on_v1_batches_gives_the_same_batch_and_creates_one()
    {
        var key = $"batches-{Guid.NewGuid()}";
        var fileId = await UploadBatchFileAsync(OpenAiSdk.BatchLines(30, "gpt-4"));

        var (firstStatus, first, firstReplayed) = await CreateBatchAsync(key, fileId);
        var (secondStatus, second, secondReplayed) = await CreateBatchAsync(key, fileId);

        Assert.Equal(HttpStatusCode.OK, firstStatus);
        Assert.Equal(HttpStatusCode.OK, secondStatus);
        Assert.False(firstReplayed);
        Assert.True(secondReplayed);
        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        Assert.Equal(fileId, second.GetProperty("input_file_id").GetString());
        Assert.Equal(1, await JobsWithKeyAsync(key, isBatch: true));

        // Concurrent retries of another key: one batch, the same id for all.
        var raceKey = $"batch-race-{Guid.NewGuid()}";
        var race = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => CreateBatchAsync(raceKey, fileId)));
        Assert.All(race, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.Single(race.Select(r => r.Batch.GetProperty("id").GetString()).Distinct());
        Assert.Equal(1, await JobsWithKeyAsync(raceKey, isBatch: true));

        // Keys of the two endpoints are apart: this key on /api/jobs makes a job of its own.
        var (jobStatus, job, jobReplayed) = await CreateJobAsync(key, JobApiClient.Jsonl(2, i => new { id = i, text = "x" }));
        Assert.Equal(HttpStatusCode.Created, jobStatus);
        Assert.False(jobReplayed);
        Assert.NotEqual(first.GetProperty("id").GetString(), $"batch_{job.Job.Id:N}");
    }

    [Fact]
    public async Task A_failed_batch_is_replayed_too()
    {
        var key = $"bad-batch-{Guid.NewGuid()}";
        var fileId = await UploadBatchFileAsync(OpenAiSdk.BatchLines(3, "no-such-model-anywhere"));

        var (_, first, _) = await CreateBatchAsync(key, fileId);
        var (status, second, replayed) = await CreateBatchAsync(key, fileId);

        Assert.Equal("failed", first.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.True(replayed);
        Assert.Equal(first.GetProperty("id").GetString(), second.GetProperty("id").GetString());
        Assert.Equal(1, await JobsWithKeyAsync(key, isBatch: true));
    }

    [Theory]
    [InlineData("")]
    [InlineData("x", 201)]
    public async Task A_bad_key_is_refused_with_400(string character, int repeat = 1)
    {
        var key = string.Concat(Enumerable.Repeat(character, repeat));
        var before = await stack.ScalarAsync<long>("SELECT count(*) FROM jobs");

        using var jobRequest = new HttpRequestMessage(HttpMethod.Post, "/api/jobs")
        {
            Content = JobApiClient.Form("bad-key.jsonl", JobApiClient.Jsonl(2, i => new { id = i, text = "x" }), JobApiClient.Fields("deepseek-chat")),
        };
        jobRequest.Headers.TryAddWithoutValidation(KeyHeader, key);
        using var jobResponse = await stack.Api.SendAsync(jobRequest);
        var problem = await jobResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.BadRequest, jobResponse.StatusCode);
        Assert.Equal("application/problem+json", jobResponse.Content.Headers.ContentType?.MediaType);
        Assert.Contains(KeyHeader, problem.GetProperty("detail").GetString());

        var fileId = await UploadBatchFileAsync(OpenAiSdk.BatchLines(2, "gpt-4"));
        using var batchRequest = new HttpRequestMessage(HttpMethod.Post, "/v1/batches")
        {
            Content = JsonContent.Create(new { input_file_id = fileId, endpoint = "/v1/chat/completions", completion_window = "24h" }),
        };
        batchRequest.Headers.TryAddWithoutValidation(KeyHeader, key);
        using var batchResponse = await stack.Api.SendAsync(batchRequest);
        var error = (await batchResponse.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal(HttpStatusCode.BadRequest, batchResponse.StatusCode);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(KeyHeader, error.GetProperty("param").GetString());

        Assert.Equal(before, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs"));
    }

    [Fact]
    public async Task The_openapi_document_describes_the_header_on_both_create_endpoints()
    {
        var document = System.Text.Json.Nodes.JsonNode.Parse(await stack.Api.GetStringAsync("/openapi/v1.json"))!;
        foreach (var path in new[] { "/api/jobs", "/v1/batches" })
        {
            var parameters = document["paths"]![path]!["post"]!["parameters"]?.AsArray() ?? [];
            var header = parameters.SingleOrDefault(p => p?["name"]?.GetValue<string>() == KeyHeader);
            Assert.True(header is not null, $"POST {path} does not document {KeyHeader}");
            Assert.Equal("header", header!["in"]!.GetValue<string>());
            Assert.Equal(200, header["schema"]!["maxLength"]!.GetValue<int>());
        }
    }

    /// <summary>
    /// The Api is SIGKILLed while it copies a 150,000-line upload into Postgres, started again through Aspire's resource
    /// command, and the client retries with the same key: one whole job, nothing from the request that died.
    /// </summary>
    [Fact]
    public async Task The_api_killed_mid_import_then_a_retry_with_the_key_makes_exactly_one_whole_job()
    {
        const int lines = 150_000;
        var key = $"crash-{Guid.NewGuid()}";
        // Short lines: the stack's upload limit is 5 MB.
        var content = JobApiClient.Jsonl(lines, i => new { id = i, text = "t" });
        Assert.True(Encoding.UTF8.GetByteCount(content) < 5_000_000);
        var testStart = await stack.ScalarAsync<DateTime>("SELECT now()");

        var apis = stack.ServiceProcesses("Api");
        Assert.True(apis.Count == 1, $"expected one api process, found {apis.Count}");
        using var doomedClient = stack.App.CreateHttpClient("api");
        doomedClient.DefaultRequestHeaders.Authorization = stack.Api.DefaultRequestHeaders.Authorization;
        doomedClient.Timeout = TimeSpan.FromMinutes(2);
        var doomed = Task.Run(async () =>
        {
            using var request = JobRequest(key, content);
            using var response = await doomedClient.SendAsync(request);
            return response.StatusCode;
        });

        // Kill it once its COPY of this upload is under way, so the transaction is open with the job row and many items.
        long copied = 0;
        var watch = Stopwatch.StartNew();
        while (copied < 20_000)
        {
            if (doomed.IsCompleted)
            {
                Assert.Fail($"the request ended before the Api could be killed mid-import ({copied:N0} rows seen in COPY): " +
                    (doomed.IsCompletedSuccessfully ? (await doomed).ToString() : doomed.Exception!.GetBaseException().Message));
            }
            Assert.True(watch.Elapsed < TimeSpan.FromMinutes(2), "the Api never started copying the upload");
            copied = await stack.ScalarAsync<long>("SELECT coalesce(max(tuples_processed), 0) FROM pg_stat_progress_copy WHERE command = 'COPY FROM' AND relid = 'items'::regclass");
            await Task.Delay(5);
        }
        apis[0].Kill(); // SIGKILL: no shutdown, no rollback from the Api.
        await apis[0].WaitForExitAsync();
        try
        {
            // The proxy may answer for the dead process (502) or drop the connection; either way no job was promised.
            Assert.NotEqual(HttpStatusCode.Created, await doomed);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException)
        {
        }
        TestContext.Current.TestOutputHelper?.WriteLine($"killed the Api with {copied:N0} of {lines:N0} rows copied, {watch.Elapsed.TotalSeconds:0.0} s after the upload began");

        // Postgres rolled the dead request back: nothing with this key, no job created since the test began.
        await WaitUntilAsync(async () => await stack.ScalarAsync<long>("SELECT count(*) FROM pg_stat_progress_copy") == 0, TimeSpan.FromSeconds(30));
        Assert.Equal(0, await JobsWithKeyAsync(key, isBatch: false));
        Assert.Equal(0, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE created_at >= @start", ("start", testStart)));

        await StartApiAgainAsync();

        // The retry, through the stack's own client: Aspire's proxy keeps the address while the process behind it changed.
        using var retry = JobRequest(key, content);
        using var response = await stack.Api.SendAsync(retry);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"the retry answered {(int)response.StatusCode}: {body}");
        Assert.False(response.Headers.Contains("Idempotent-Replayed"), "nothing of the killed request should have survived to be replayed");
        var created = JsonSerializer.Deserialize<CreatedJob>(body, StackFixture.Json)!;

        // A second retry (the client never saw the first answer, say) replays it.
        using var again = JobRequest(key, content);
        using var againResponse = await stack.Api.SendAsync(again);
        Assert.Equal(HttpStatusCode.Created, againResponse.StatusCode);
        Assert.Equal(created.Job.Id, (await againResponse.Content.ReadFromJsonAsync<CreatedJob>(StackFixture.Json))!.Job.Id);

        Assert.Equal(1, await JobsWithKeyAsync(key, isBatch: false));
        Assert.Equal(1, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE created_at >= @start", ("start", testStart)));
        Assert.Equal(lines, await stack.ScalarAsync<int>("SELECT total_items FROM jobs WHERE id = @job", ("job", created.Job.Id)));
        Assert.Equal(lines, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @job", ("job", created.Job.Id)));
        Assert.Equal(lines, await stack.ScalarAsync<long>("SELECT count(DISTINCT custom_id) FROM items WHERE job_id = @job", ("job", created.Job.Id)));
        // Nothing half-made anywhere: no job without all its items, no item without its job.
        Assert.Equal(0, await stack.ScalarAsync<long>(
            "SELECT count(*) FROM jobs j WHERE j.created_at >= @start AND j.total_items <> (SELECT count(*) FROM items i WHERE i.job_id = j.id)", ("start", testStart)));
        Assert.Equal(0, await stack.ScalarAsync<long>("SELECT count(*) FROM items i WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = i.job_id)"));
        // Every job is in a known state and has the event that created it: none was left half-made by the kill.
        Assert.Equal(0, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE NOT state = ANY(@known)", ("known", Enum.GetValues<JobState>().Select(s => (int)s).ToArray())));
        Assert.Equal(0, await stack.ScalarAsync<long>(
            "SELECT count(*) FROM jobs j WHERE j.created_at >= @start AND NOT EXISTS (SELECT 1 FROM job_events e WHERE e.job_id = j.id AND e.from_state IS NULL)", ("start", testStart)));

        // The stack's client keeps working for the tests after this one; the job is cancelled so it does not keep the workers busy.
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/cancel", null)).EnsureSuccessStatusCode();
        Assert.Equal(lines, (await stack.Api.GetJobAsync(created.Job.Id)).Counters.Total);
    }

    private HttpRequestMessage JobRequest(string key, string content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/jobs")
        {
            Content = JobApiClient.Form("idempotent.jsonl", content, JobApiClient.Fields("deepseek-chat")),
        };
        request.Headers.Add(KeyHeader, key);
        return request;
    }

    private async Task<(HttpStatusCode Status, CreatedJob Created, bool Replayed)> CreateJobAsync(string key, string content)
    {
        using var request = JobRequest(key, content);
        using var response = await stack.Api.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"creating the job failed: {(int)response.StatusCode} {body}");
        return (response.StatusCode, JsonSerializer.Deserialize<CreatedJob>(body, StackFixture.Json)!, response.Headers.Contains("Idempotent-Replayed"));
    }

    private async Task<(HttpStatusCode Status, JsonElement Batch, bool Replayed)> CreateBatchAsync(string key, string fileId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/batches")
        {
            Content = JsonContent.Create(new { input_file_id = fileId, endpoint = "/v1/chat/completions", completion_window = "24h" }),
        };
        request.Headers.Add(KeyHeader, key);
        using var response = await stack.Api.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"creating the batch failed: {(int)response.StatusCode} {body}");
        return (response.StatusCode, JsonDocument.Parse(body).RootElement.Clone(), response.Headers.Contains("Idempotent-Replayed"));
    }

    private async Task<string> UploadBatchFileAsync(string lines)
    {
        using var upload = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(lines)), "file", "idempotent.jsonl" },
        };
        using var response = await stack.Api.PostAsync("/v1/files", upload);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
    }

    private Task<long> JobsWithKeyAsync(string key, bool isBatch) =>
        stack.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE idempotency_key = @key AND is_batch = @batch", ("key", key), ("batch", isBatch));

    /// <summary>Once Aspire has seen the process die, its start command runs the project again behind the same proxy.</summary>
    private async Task StartApiAgainAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await stack.App.ResourceNotifications.WaitForResourceAsync("api",
            e => e.Snapshot.State?.Text is { } state && (state == KnownResourceStates.Exited || state == KnownResourceStates.Finished || state == KnownResourceStates.FailedToStart),
            timeout.Token);
        var commands = stack.App.Services.GetRequiredService<ResourceCommandService>();
        var started = await commands.ExecuteCommandAsync("api", KnownResourceCommands.StartCommand);
        Assert.True(started.Success, started.Message);
        await stack.App.ResourceNotifications.WaitForResourceHealthyAsync("api").WaitAsync(TimeSpan.FromMinutes(2));
        // Health reported through Aspire may be the old process's for a moment: ask the new one through the proxy.
        await WaitUntilAsync(async () =>
        {
            try
            {
                using var health = await stack.Api.GetAsync("/health");
                return health.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromMinutes(1));
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < timeout, $"the condition did not hold within {timeout}");
            await Task.Delay(100);
        }
    }
}
