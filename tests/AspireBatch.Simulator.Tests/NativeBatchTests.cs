using AspireBatch.Simulator.Apis;
using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Files;

namespace AspireBatch.Simulator.Tests;

/// <summary>OpenAI-shaped native batches over real HTTP: /v1/files and /v1/batches.</summary>
public sealed class NativeBatchTests
{
    private const string Chat = "/v1/chat/completions";
    private static readonly TimeSpan BatchTimeout = TimeSpan.FromSeconds(20);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Files_are_uploaded_listed_read_and_deleted_in_the_OpenAI_shape()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var content = Jsonl(Lines(2));

        var file = await UploadAsync(sim, content);
        var other = await UploadAsync(sim, "{}", "notes.txt", "user_data");

        var id = file.GetProperty("id").GetString()!;
        Assert.StartsWith("file-", id);
        Assert.Equal("file", file.GetProperty("object").GetString());
        Assert.Equal(Encoding.UTF8.GetByteCount(content), file.GetProperty("bytes").GetInt64());
        Assert.Equal("input.jsonl", file.GetProperty("filename").GetString());
        Assert.Equal("batch", file.GetProperty("purpose").GetString());
        Assert.Equal("processed", file.GetProperty("status").GetString());
        Assert.Equal(file.GetProperty("created_at").GetInt64() + 30 * 86_400, file.GetProperty("expires_at").GetInt64());
        Assert.Equal(JsonValueKind.Null, other.GetProperty("expires_at").ValueKind);

        using (var got = JsonDocument.Parse(await sim.Client.GetStringAsync($"/v1/files/{id}", Ct)))
        {
            Assert.Equal(file.ToString(), got.RootElement.ToString());
        }

        Assert.Equal(content, await sim.Client.GetStringAsync($"/v1/files/{id}/content", Ct));

        using (var list = JsonDocument.Parse(await sim.Client.GetStringAsync("/v1/files", Ct)))
        {
            var root = list.RootElement;
            Assert.Equal("list", root.GetProperty("object").GetString());
            Assert.Equal([other.GetProperty("id").GetString(), id], root.GetProperty("data").EnumerateArray().Select(f => f.GetProperty("id").GetString()));
            Assert.False(root.GetProperty("has_more").GetBoolean());
            Assert.Equal(other.GetProperty("id").GetString(), root.GetProperty("first_id").GetString());
            Assert.Equal(id, root.GetProperty("last_id").GetString());
        }

        using (var page = JsonDocument.Parse(await sim.Client.GetStringAsync("/v1/files?limit=1&order=asc", Ct)))
        {
            Assert.Equal(id, Assert.Single(page.RootElement.GetProperty("data").EnumerateArray()).GetProperty("id").GetString());
            Assert.True(page.RootElement.GetProperty("has_more").GetBoolean());
        }

        using (var batchOnly = JsonDocument.Parse(await sim.Client.GetStringAsync("/v1/files?purpose=batch", Ct)))
        {
            Assert.Equal(id, Assert.Single(batchOnly.RootElement.GetProperty("data").EnumerateArray()).GetProperty("id").GetString());
        }

        using var deleted = await sim.Client.DeleteAsync($"/v1/files/{id}", Ct);
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal($$"""{"id":"{{id}}","object":"file","deleted":true}""", await deleted.Content.ReadAsStringAsync(Ct));

        using var gone = await sim.Client.GetAsync($"/v1/files/{id}", Ct);
        await AssertOpenAiErrorAsync(gone, HttpStatusCode.NotFound, $"No such File object: {id}");
        using var goneContent = await sim.Client.GetAsync($"/v1/files/{id}/content", Ct);
        Assert.Equal(HttpStatusCode.NotFound, goneContent.StatusCode);
        using var goneAgain = await sim.Client.DeleteAsync($"/v1/files/{id}", Ct);
        Assert.Equal(HttpStatusCode.NotFound, goneAgain.StatusCode);
    }

    [Fact]
    public async Task An_embeddings_batch_answers_each_line_with_the_real_time_vectors()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var content = string.Join("\n", Enumerable.Range(0, 6).Select(i => JsonSerializer.Serialize(new
        {
            custom_id = $"e{i}", method = "POST", url = "/v1/embeddings",
            body = new { model = "text-embedding-3-small", input = $"text {i}", dimensions = 12 },
        }))) + "\n";
        var file = await UploadAsync(sim, content);
        using var created = await CreateBatchAsync(sim, file.GetProperty("id").GetString()!, "/v1/embeddings");
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var done = await WaitForAsync(sim, (await JsonAsync(created)).GetProperty("id").GetString()!, "completed");
        Assert.Equal("/v1/embeddings", done.GetProperty("endpoint").GetString());
        foreach (var line in await DownloadAsync(sim, done.GetProperty("output_file_id").GetString()!))
        {
            var i = int.Parse(line.GetProperty("custom_id").GetString()![1..]);
            var body = line.GetProperty("response").GetProperty("body");
            Assert.Equal(JsonValueKind.Object, body.ValueKind);
            Assert.Equal(EmbeddingsApi.Vector("text-embedding-3-small", $"text {i}", 12),
                body.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()));
        }
    }

    [Fact]
    public async Task A_batch_completes_with_every_line_answered_once_as_in_real_time()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var lines = Lines(25);
        var file = await UploadAsync(sim, Jsonl(lines));

        using var created = await CreateBatchAsync(sim, file.GetProperty("id").GetString()!, metadata: new() { ["job"] = "nightly" });
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        var batch = await JsonAsync(created);
        Assert.StartsWith("batch_", batch.GetProperty("id").GetString());
        Assert.Equal("batch", batch.GetProperty("object").GetString());
        Assert.Equal("validating", batch.GetProperty("status").GetString());
        Assert.Equal(Chat, batch.GetProperty("endpoint").GetString());
        Assert.Equal("24h", batch.GetProperty("completion_window").GetString());
        Assert.Equal(file.GetProperty("id").GetString(), batch.GetProperty("input_file_id").GetString());
        Assert.Equal("nightly", batch.GetProperty("metadata").GetProperty("job").GetString());
        foreach (var name in new[] { "errors", "output_file_id", "error_file_id", "in_progress_at", "expires_at", "finalizing_at", "completed_at", "failed_at", "expired_at", "cancelling_at", "cancelled_at" })
        {
            Assert.Equal(JsonValueKind.Null, batch.GetProperty(name).ValueKind);
        }

        var done = await WaitForAsync(sim, batch.GetProperty("id").GetString()!, "completed");

        var createdAt = done.GetProperty("created_at").GetInt64();
        var inProgressAt = done.GetProperty("in_progress_at").GetInt64();
        var finalizingAt = done.GetProperty("finalizing_at").GetInt64();
        var completedAt = done.GetProperty("completed_at").GetInt64();
        Assert.True(createdAt <= inProgressAt && inProgressAt <= finalizingAt && finalizingAt <= completedAt);
        Assert.Equal(createdAt + 86_400, done.GetProperty("expires_at").GetInt64());
        Assert.Equal("gpt-4.1", done.GetProperty("model").GetString());
        Assert.Equal((25, 25, 0), Counts(done));
        Assert.Equal(JsonValueKind.Null, done.GetProperty("error_file_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, done.GetProperty("errors").ValueKind);

        var outputId = done.GetProperty("output_file_id").GetString()!;
        using (var outputFile = JsonDocument.Parse(await sim.Client.GetStringAsync($"/v1/files/{outputId}", Ct)))
        {
            Assert.Equal("batch_output", outputFile.RootElement.GetProperty("purpose").GetString());
        }

        var output = await DownloadAsync(sim, outputId);
        Assert.Equal(lines.Select(l => l.CustomId).Order(), output.Select(o => o.GetProperty("custom_id").GetString()).Order());
        long prompt = 0, completion = 0;
        foreach (var line in output)
        {
            Assert.StartsWith("batch_req_", line.GetProperty("id").GetString());
            Assert.Equal(JsonValueKind.Null, line.GetProperty("error").ValueKind);
            var response = line.GetProperty("response");
            Assert.Equal(200, response.GetProperty("status_code").GetInt32());
            Assert.StartsWith("req_", response.GetProperty("request_id").GetString());
            var body = response.GetProperty("body");
            Assert.Equal("chat.completion", body.GetProperty("object").GetString());

            var input = lines.Single(l => l.CustomId == line.GetProperty("custom_id").GetString());
            using var realTime = await sim.PostChatAsync(input.Body);
            using var expected = JsonDocument.Parse(await realTime.Content.ReadAsStringAsync(Ct));
            Assert.Equal(
                expected.RootElement.GetProperty("choices").ToString(), body.GetProperty("choices").ToString());
            Assert.Equal(expected.RootElement.GetProperty("usage").ToString(), body.GetProperty("usage").ToString());
            prompt += body.GetProperty("usage").GetProperty("prompt_tokens").GetInt64();
            completion += body.GetProperty("usage").GetProperty("completion_tokens").GetInt64();
        }

        var usage = done.GetProperty("usage");
        Assert.Equal(prompt, usage.GetProperty("input_tokens").GetInt64());
        Assert.Equal(completion, usage.GetProperty("output_tokens").GetInt64());
        Assert.Equal(prompt + completion, usage.GetProperty("total_tokens").GetInt64());
        Assert.Equal(0, usage.GetProperty("input_tokens_details").GetProperty("cached_tokens").GetInt64());

        var stats = await sim.GetStatsAsync();
        Assert.Equal(1, stats.Batches.Created);
        Assert.Equal(25, stats.Batches.LinesAnswered);
        Assert.Equal(0, stats.Batches.LinesFailed);
        Assert.Equal(prompt, stats.Batches.PromptTokens);
        Assert.Equal(25, stats.ChatRequests); // The real-time comparisons only: batch lines are not chat requests.
    }

    [Fact]
    public async Task Lines_fail_at_the_configured_rate_into_the_error_file_and_the_rest_are_answered()
    {
        await using var sim = await SimulatorHost.StartAsync("BatchLineFailureRate=0.3", "Seed=7");
        var lines = Lines(200);
        var batchId = await StartBatchAsync(sim, lines);

        var done = await WaitForAsync(sim, batchId, "completed");

        var (total, completed, failed) = Counts(done);
        Assert.Equal(200, total);
        Assert.Equal(200, completed + failed);
        Assert.InRange(failed, 35, 85);
        var output = await DownloadAsync(sim, done.GetProperty("output_file_id").GetString()!);
        var errors = await DownloadAsync(sim, done.GetProperty("error_file_id").GetString()!);
        Assert.Equal(completed, output.Count);
        Assert.Equal(failed, errors.Count);
        Assert.Equal(
            lines.Select(l => l.CustomId).Order(),
            output.Concat(errors).Select(l => l.GetProperty("custom_id").GetString()).Order());
        Assert.All(errors, line =>
        {
            // An HTTP error of a line is its response, as OpenAI writes it; "error" is for requests that never ran.
            Assert.Equal(JsonValueKind.Null, line.GetProperty("error").ValueKind);
            Assert.Equal(500, line.GetProperty("response").GetProperty("status_code").GetInt32());
            Assert.Equal("server_error", line.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("type").GetString());
        });

        var stats = await sim.GetStatsAsync();
        Assert.Equal(completed, stats.Batches.LinesAnswered);
        Assert.Equal(failed, stats.Batches.LinesFailed);
    }

    [Fact]
    public async Task Lines_the_chat_endpoint_refuses_get_its_400_or_404_in_the_error_file()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var good = Lines(1)[0];
        var noMessages = new BatchInput("no-messages", new Dictionary<string, object?> { ["model"] = "gpt-4.1" });
        var unknownModel = new BatchInput("unknown-model", SimulatorHost.Chat("hello", "gpt-0"));
        var batchId = await StartBatchAsync(sim, [good, noMessages]);
        var unknownModelBatchId = await StartBatchAsync(sim, [unknownModel]);

        var done = await WaitForAsync(sim, batchId, "completed");
        var other = await WaitForAsync(sim, unknownModelBatchId, "completed");

        Assert.Equal((2, 1, 1), Counts(done));
        var error = Assert.Single(await DownloadAsync(sim, done.GetProperty("error_file_id").GetString()!));
        Assert.Equal("no-messages", error.GetProperty("custom_id").GetString());
        Assert.Equal(400, error.GetProperty("response").GetProperty("status_code").GetInt32());
        var body = error.GetProperty("response").GetProperty("body").GetProperty("error");
        Assert.Equal("messages", body.GetProperty("param").GetString());
        Assert.Equal("missing_required_parameter", body.GetProperty("code").GetString());

        Assert.Equal(JsonValueKind.Null, other.GetProperty("output_file_id").ValueKind);
        var notFound = Assert.Single(await DownloadAsync(sim, other.GetProperty("error_file_id").GetString()!));
        Assert.Equal(404, notFound.GetProperty("response").GetProperty("status_code").GetInt32());
        Assert.Equal("model_not_found", notFound.GetProperty("response").GetProperty("body").GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_batch_past_its_expiry_ends_expired_with_the_unanswered_lines_as_batch_expired()
    {
        await using var sim = await SimulatorHost.StartAsync("BatchTurnaroundMs=4000", "BatchExpireAfterMs=600");
        var lines = Lines(20);
        var batchId = await StartBatchAsync(sim, lines);

        var done = await WaitForAsync(sim, batchId, "expired");

        Assert.Equal(JsonValueKind.Number, done.GetProperty("expired_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, done.GetProperty("completed_at").ValueKind);
        var (total, completed, failed) = Counts(done);
        Assert.Equal(20, total);
        Assert.Equal(20, completed + failed);
        Assert.InRange(completed, 0, 10);
        var errors = await DownloadAsync(sim, done.GetProperty("error_file_id").GetString()!);
        Assert.Equal(failed, errors.Count);
        Assert.All(errors, line =>
        {
            Assert.Equal(JsonValueKind.Null, line.GetProperty("response").ValueKind);
            Assert.Equal("batch_expired", line.GetProperty("error").GetProperty("code").GetString());
            Assert.Equal("This request could not be executed before the completion window expired.", line.GetProperty("error").GetProperty("message").GetString());
        });
        var output = completed == 0 ? [] : await DownloadAsync(sim, done.GetProperty("output_file_id").GetString()!);
        Assert.Equal(
            lines.Select(l => l.CustomId).Order(),
            output.Concat(errors).Select(l => l.GetProperty("custom_id").GetString()).Order());

        var stats = await sim.GetStatsAsync();
        Assert.Equal(failed, stats.Batches.LinesExpired);
        Assert.Equal(completed, stats.Batches.LinesAnswered);
    }

    [Fact]
    public async Task A_cancelled_batch_answers_no_more_lines_and_keeps_the_finished_ones()
    {
        await using var sim = await SimulatorHost.StartAsync("BatchTurnaroundMs=3000");
        var lines = Lines(30);
        var batchId = await StartBatchAsync(sim, lines);
        await PollAsync(sim, batchId, b => b.GetProperty("status").GetString() == "in_progress" && Counts(b).Completed > 0);

        using var cancel = await sim.Client.PostAsync($"/v1/batches/{batchId}/cancel", null, Ct);

        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var cancelling = await JsonAsync(cancel);
        Assert.Equal("cancelling", cancelling.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Number, cancelling.GetProperty("cancelling_at").ValueKind);
        var done = await WaitForAsync(sim, batchId, "cancelled");
        Assert.Equal(JsonValueKind.Number, done.GetProperty("cancelled_at").ValueKind);
        var (total, completed, failed) = Counts(done);
        Assert.Equal(30, total);
        Assert.Equal(0, failed);
        Assert.InRange(completed, 1, 29);
        var output = await DownloadAsync(sim, done.GetProperty("output_file_id").GetString()!);
        Assert.Equal(completed, output.Select(o => o.GetProperty("custom_id").GetString()).Distinct().Count());
        Assert.Equal(JsonValueKind.Null, done.GetProperty("error_file_id").ValueKind);

        await Task.Delay(300, Ct); // Past several ticks: a cancelled batch stays as it is.
        var stats = await sim.GetStatsAsync();
        Assert.Equal(completed, stats.Batches.LinesAnswered);
        Assert.Equal((30, completed, 0), Counts(await GetBatchAsync(sim, batchId)));

        using var again = await sim.Client.PostAsync($"/v1/batches/{batchId}/cancel", null, Ct);
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("cancelled", (await JsonAsync(again)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Cancelling_a_finished_batch_is_a_409_and_an_unknown_one_a_404()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var batchId = await StartBatchAsync(sim, Lines(2));
        await WaitForAsync(sim, batchId, "completed");

        using var finished = await sim.Client.PostAsync($"/v1/batches/{batchId}/cancel", null, Ct);
        using var unknown = await sim.Client.PostAsync("/v1/batches/batch_nope/cancel", null, Ct);
        using var unknownGet = await sim.Client.GetAsync("/v1/batches/batch_nope", Ct);

        var error = await AssertOpenAiErrorAsync(finished, HttpStatusCode.Conflict, "Cannot cancel a batch with status 'completed'.");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        await AssertOpenAiErrorAsync(unknown, HttpStatusCode.NotFound, "No such Batch object: batch_nope");
        await AssertOpenAiErrorAsync(unknownGet, HttpStatusCode.NotFound, "No such Batch object: batch_nope");
        Assert.Equal("completed", (await GetBatchAsync(sim, batchId)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task Batches_are_listed_newest_first_with_after_and_limit()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var fileId = (await UploadAsync(sim, Jsonl(Lines(1)))).GetProperty("id").GetString()!;
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            using var created = await CreateBatchAsync(sim, fileId);
            ids.Add((await JsonAsync(created)).GetProperty("id").GetString()!);
        }

        using var first = JsonDocument.Parse(await sim.Client.GetStringAsync("/v1/batches?limit=2", Ct));
        using var rest = JsonDocument.Parse(await sim.Client.GetStringAsync($"/v1/batches?limit=2&after={ids[1]}", Ct));
        using var tooMany = await sim.Client.GetAsync("/v1/batches?limit=101", Ct);

        Assert.Equal("list", first.RootElement.GetProperty("object").GetString());
        Assert.Equal([ids[2], ids[1]], first.RootElement.GetProperty("data").EnumerateArray().Select(b => b.GetProperty("id").GetString()));
        Assert.True(first.RootElement.GetProperty("has_more").GetBoolean());
        Assert.Equal(ids[2], first.RootElement.GetProperty("first_id").GetString());
        Assert.Equal(ids[1], first.RootElement.GetProperty("last_id").GetString());
        Assert.Equal([ids[0]], rest.RootElement.GetProperty("data").EnumerateArray().Select(b => b.GetProperty("id").GetString()));
        Assert.False(rest.RootElement.GetProperty("has_more").GetBoolean());
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
    }

    [Fact]
    public async Task Batch_settings_change_at_run_time_through_the_admin_API_for_new_batches()
    {
        await using var sim = await SimulatorHost.StartAsync();

        using var update = await sim.PutConfigAsync(new { batchTurnaroundMs = 50, batchLineFailureRate = 1.0, batchExpireAfterMs = 60_000, fileMaxBytes = 1000 });
        using var invalid = await sim.PutConfigAsync(new { batchLineFailureRate = 2.0 });

        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        var config = await update.Content.ReadFromJsonAsync<SimulatorOptions>(Ct);
        Assert.Equal(50, config!.BatchTurnaroundMs);
        Assert.Equal(60_000, config.BatchExpireAfterMs);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var done = await WaitForAsync(sim, await StartBatchAsync(sim, Lines(3)), "completed");
        Assert.Equal((3, 0, 3), Counts(done));
        Assert.Equal(done.GetProperty("created_at").GetInt64() + 60, done.GetProperty("expires_at").GetInt64());
        using var tooLarge = await PostFileAsync(sim, new string('x', 1001), "big.jsonl", "batch");
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.StatusCode);
    }

    [Fact]
    public async Task Objects_have_exactly_the_properties_of_OpenAIs_schemas()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var file = await UploadAsync(sim, Jsonl(Lines(1)));
        using var created = await CreateBatchAsync(sim, file.GetProperty("id").GetString()!);
        var batch = await JsonAsync(created);

        // openai-openapi: components.schemas.OpenAIFile and Batch (status_details and model are optional there; written as null until known).
        Assert.Equal(
            ["bytes", "created_at", "expires_at", "filename", "id", "object", "purpose", "status", "status_details"],
            file.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(
            ["cancelled_at", "cancelling_at", "completed_at", "completion_window", "created_at", "endpoint", "error_file_id", "errors", "expired_at",
             "expires_at", "failed_at", "finalizing_at", "id", "in_progress_at", "input_file_id", "metadata", "model", "object", "output_file_id",
             "request_counts", "status", "usage"],
            batch.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["completed", "failed", "total"], batch.GetProperty("request_counts").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(
            ["input_tokens", "input_tokens_details", "output_tokens", "output_tokens_details", "total_tokens"],
            batch.GetProperty("usage").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        var done = await WaitForAsync(sim, batch.GetProperty("id").GetString()!, "completed");
        var line = Assert.Single(await DownloadAsync(sim, done.GetProperty("output_file_id").GetString()!));
        Assert.Equal(["custom_id", "error", "id", "response"], line.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal(["body", "request_id", "status_code"], line.GetProperty("response").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task An_upload_past_the_servers_default_body_limit_is_accepted_up_to_FileMaxBytes()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var content = new string('x', 31_000_000); // Kestrel refuses bodies over 30,000,000 bytes unless told otherwise.

        var file = await UploadAsync(sim, content, "big.jsonl");

        Assert.Equal(31_000_000, file.GetProperty("bytes").GetInt64());
        Assert.Equal(31_000_000, (await sim.Client.GetByteArrayAsync($"/v1/files/{file.GetProperty("id").GetString()}/content", Ct)).Length);
    }

    [Fact]
    public async Task A_bad_upload_gets_an_OpenAI_error()
    {
        await using var sim = await SimulatorHost.StartAsync("FileStoreMaxBytes=100");

        using var notJsonl = await PostFileAsync(sim, "{}", "input.csv", "batch");
        using var badPurpose = await PostFileAsync(sim, "{}", "input.jsonl", "homework");
        using var noPurpose = await PostFileAsync(sim, "{}", "input.jsonl", null);
        using var json = await sim.Client.PostAsJsonAsync("/v1/files", new { purpose = "batch" }, Ct);
        using var full = await PostFileAsync(sim, new string('x', 101), "input.jsonl", "batch");
        using var noKey = new HttpClient { BaseAddress = sim.BaseAddress };
        using var unauthorized = await noKey.GetAsync("/v1/files", Ct);

        await AssertOpenAiErrorAsync(notJsonl, HttpStatusCode.BadRequest, "Invalid file format for Batch API. Must be .jsonl");
        Assert.Equal("purpose", (await AssertOpenAiErrorAsync(badPurpose, HttpStatusCode.BadRequest, null)).GetProperty("param").GetString());
        Assert.Equal("missing_required_parameter", (await AssertOpenAiErrorAsync(noPurpose, HttpStatusCode.BadRequest, null)).GetProperty("code").GetString());
        await AssertOpenAiErrorAsync(json, HttpStatusCode.BadRequest, null);
        Assert.Equal("storage_limit_exceeded", (await AssertOpenAiErrorAsync(full, HttpStatusCode.BadRequest, null)).GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
    }

    [Fact]
    public async Task A_bad_batch_request_is_a_400_at_once()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var batchFile = (await UploadAsync(sim, Jsonl(Lines(1)))).GetProperty("id").GetString()!;
        var userFile = (await UploadAsync(sim, Jsonl(Lines(1)), "data.jsonl", "user_data")).GetProperty("id").GetString()!;

        using var unknownFile = await CreateBatchAsync(sim, "file-nope");
        using var wrongPurpose = await CreateBatchAsync(sim, userFile);
        using var unservedEndpoint = await CreateBatchAsync(sim, batchFile, "/v1/moderations");
        using var window = await sim.Client.PostAsJsonAsync("/v1/batches", new { input_file_id = batchFile, endpoint = Chat, completion_window = "1h" }, Ct);
        using var noFile = await sim.Client.PostAsJsonAsync("/v1/batches", new { endpoint = Chat, completion_window = "24h" }, Ct);
        using var metadata = await CreateBatchAsync(sim, batchFile, metadata: Enumerable.Range(0, 17).ToDictionary(i => $"k{i}", i => "v"));

        var error = await AssertOpenAiErrorAsync(unknownFile, HttpStatusCode.BadRequest, "No such File object: file-nope");
        Assert.Equal("input_file_id", error.GetProperty("param").GetString());
        error = await AssertOpenAiErrorAsync(wrongPurpose, HttpStatusCode.BadRequest, null);
        Assert.Contains("purpose 'batch'", error.GetProperty("message").GetString());
        error = await AssertOpenAiErrorAsync(unservedEndpoint, HttpStatusCode.BadRequest, null);
        Assert.Equal("endpoint", error.GetProperty("param").GetString());
        Assert.Contains("'/v1/chat/completions'", error.GetProperty("message").GetString());
        Assert.Equal("completion_window", (await AssertOpenAiErrorAsync(window, HttpStatusCode.BadRequest, null)).GetProperty("param").GetString());
        Assert.Equal("input_file_id", (await AssertOpenAiErrorAsync(noFile, HttpStatusCode.BadRequest, null)).GetProperty("param").GetString());
        Assert.Equal("metadata", (await AssertOpenAiErrorAsync(metadata, HttpStatusCode.BadRequest, null)).GetProperty("param").GetString());
        Assert.Equal(0, (await sim.GetStatsAsync()).Batches.Created);
    }

    public static TheoryData<string, string, int?> BadFiles => new()
    {
        { "{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"gpt-4.1\"}}\n\nnot json\n", "invalid_json_line", 3 },
        { "{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{\"model\":\"gpt-4.1\"}}\n", "invalid_url", 1 },
        { "{\"custom_id\":\"a\",\"method\":\"GET\",\"url\":\"/v1/chat/completions\",\"body\":{}}\n", "invalid_value", 1 },
        { "{\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}\n", "missing_required_parameter", 1 },
        { "{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"gpt-4.1\"}}\n{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"gpt-4.1\"}}\n", "duplicate_custom_id", 2 },
        { "{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"gpt-4.1\"}}\n{\"custom_id\":\"b\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"deepseek-chat\"}}\n", "mismatched_model", 2 },
        { "\n\n", "empty_file", null },
    };

    [Theory]
    [MemberData(nameof(BadFiles))]
    public async Task A_bad_input_file_fails_the_batch_in_validation_with_the_line(string content, string code, int? line)
    {
        await using var sim = await SimulatorHost.StartAsync();
        var fileId = (await UploadAsync(sim, content)).GetProperty("id").GetString()!;
        using var created = await CreateBatchAsync(sim, fileId);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);

        var failed = await WaitForAsync(sim, (await JsonAsync(created)).GetProperty("id").GetString()!, "failed");

        Assert.Equal(JsonValueKind.Number, failed.GetProperty("failed_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, failed.GetProperty("in_progress_at").ValueKind);
        var errors = failed.GetProperty("errors");
        Assert.Equal("list", errors.GetProperty("object").GetString());
        var error = Assert.Single(errors.GetProperty("data").EnumerateArray());
        Assert.Equal(code, error.GetProperty("code").GetString());
        if (line is { } number)
        {
            Assert.Equal(number, error.GetProperty("line").GetInt32());
            Assert.StartsWith($"Line {number}:", error.GetProperty("message").GetString());
        }
        else
        {
            Assert.Equal(JsonValueKind.Null, error.GetProperty("line").ValueKind);
        }

        Assert.Equal(0, (await sim.GetStatsAsync()).Batches.LinesAnswered);
    }

    [Fact]
    public async Task The_OpenAI_client_uploads_runs_and_downloads_a_batch_with_the_real_time_answers()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var openAi = new OpenAIClient(new ApiKeyCredential(SimulatorHost.ApiKey), new OpenAIClientOptions { Endpoint = new Uri(sim.BaseAddress, "/v1") });
        var files = openAi.GetOpenAIFileClient();
#pragma warning disable OPENAI001 // The batch client is marked experimental.
        var batches = openAi.GetBatchClient();
#pragma warning restore OPENAI001
        var lines = Lines(5);

        OpenAIFile input = await files.UploadFileAsync(BinaryData.FromString(Jsonl(lines)), "records.jsonl", FileUploadPurpose.Batch);
        Assert.Equal(FilePurpose.Batch, input.Purpose);
        Assert.Equal("records.jsonl", input.Filename);
        var operation = await batches.CreateBatchAsync(
            BinaryContent.Create(BinaryData.FromObjectAsJson(new { input_file_id = input.Id, endpoint = Chat, completion_window = "24h" })),
            waitUntilCompleted: false);
        await WaitForSdkAsync(async () =>
        {
            await operation.UpdateStatusAsync();
            return operation.HasCompleted;
        });
        using var batch = JsonDocument.Parse((await operation.GetBatchAsync(null)).GetRawResponse().Content.ToString());
        Assert.Equal("completed", batch.RootElement.GetProperty("status").GetString());
        BinaryData output = await files.DownloadFileAsync(batch.RootElement.GetProperty("output_file_id").GetString()!, Ct);

        var chat = openAi.GetChatClient("gpt-4.1");
        var answered = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(lines.Select(l => l.CustomId).Order(), answered.Select(a => a.GetProperty("custom_id").GetString()).Order());
        foreach (var line in answered)
        {
            var input_ = lines.Single(l => l.CustomId == line.GetProperty("custom_id").GetString());
            var question = JsonSerializer.SerializeToElement(input_.Body).GetProperty("messages")[0].GetProperty("content").GetString()!;
            ChatCompletion realTime = await chat.CompleteChatAsync([new UserChatMessage(question)], cancellationToken: Ct);
            var body = line.GetProperty("response").GetProperty("body");
            Assert.Equal(realTime.Content[0].Text, body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            Assert.Equal(realTime.Usage.OutputTokenCount, body.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        }

        await files.DeleteFileAsync(input.Id, Ct);
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => files.GetFileAsync(input.Id, Ct));
        Assert.Equal(404, missing.Status);
    }

    private static async Task WaitForSdkAsync(Func<Task<bool>> done)
    {
        await Poll().WaitAsync(BatchTimeout, Ct);

        async Task Poll()
        {
            while (!await done())
            {
                await Task.Delay(20, Ct);
            }
        }
    }

    internal sealed record BatchInput(string CustomId, Dictionary<string, object?> Body);

    internal static List<BatchInput> Lines(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new BatchInput($"rec-{i:D4}", SimulatorHost.Chat($"Classify ticket {i}: my parcel #{i * 7} is late.")))];

    internal static string Jsonl(IEnumerable<BatchInput> lines) =>
        string.Concat(lines.Select(l => JsonSerializer.Serialize(new { custom_id = l.CustomId, method = "POST", url = Chat, body = l.Body }) + "\n"));

    private static async Task<string> StartBatchAsync(SimulatorHost sim, IEnumerable<BatchInput> lines)
    {
        var file = await UploadAsync(sim, Jsonl(lines));
        using var created = await CreateBatchAsync(sim, file.GetProperty("id").GetString()!);
        Assert.Equal(HttpStatusCode.OK, created.StatusCode);
        return (await JsonAsync(created)).GetProperty("id").GetString()!;
    }

    private static async Task<HttpResponseMessage> PostFileAsync(SimulatorHost sim, string content, string filename, string? purpose)
    {
        using var form = new MultipartFormDataContent();
        if (purpose is not null)
        {
            form.Add(new StringContent(purpose), "purpose");
        }

        var file = new ByteArrayContent(Encoding.UTF8.GetBytes(content));
        file.Headers.ContentType = new MediaTypeHeaderValue("application/jsonl");
        form.Add(file, "file", filename);
        return await sim.Client.PostAsync("/v1/files", form, Ct);
    }

    private static async Task<JsonElement> UploadAsync(SimulatorHost sim, string content, string filename = "input.jsonl", string purpose = "batch")
    {
        using var response = await PostFileAsync(sim, content, filename, purpose);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await JsonAsync(response);
    }

    private static Task<HttpResponseMessage> CreateBatchAsync(
        SimulatorHost sim, string fileId, string endpoint = Chat, Dictionary<string, string>? metadata = null) =>
        sim.Client.PostAsJsonAsync("/v1/batches", new { input_file_id = fileId, endpoint, completion_window = "24h", metadata }, Ct);

    private static async Task<JsonElement> GetBatchAsync(SimulatorHost sim, string batchId)
    {
        using var document = JsonDocument.Parse(await sim.Client.GetStringAsync($"/v1/batches/{batchId}", Ct));
        return document.RootElement.Clone();
    }

    private static Task<JsonElement> WaitForAsync(SimulatorHost sim, string batchId, string status) =>
        PollAsync(sim, batchId, b =>
        {
            var now = b.GetProperty("status").GetString();
            Assert.True(now == status || now is "validating" or "in_progress" or "finalizing" or "cancelling", $"Batch is {now}, waiting for {status}");
            return now == status;
        });

    private static async Task<JsonElement> PollAsync(SimulatorHost sim, string batchId, Func<JsonElement, bool> until)
    {
        return await Poll().WaitAsync(BatchTimeout, Ct);

        async Task<JsonElement> Poll()
        {
            while (true)
            {
                var batch = await GetBatchAsync(sim, batchId);
                if (until(batch))
                {
                    return batch;
                }

                await Task.Delay(20, Ct);
            }
        }
    }

    private static async Task<List<JsonElement>> DownloadAsync(SimulatorHost sim, string fileId)
    {
        var text = await sim.Client.GetStringAsync($"/v1/files/{fileId}/content", Ct);
        Assert.EndsWith("\n", text);
        return [.. text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone())];
    }

    private static (int Total, int Completed, int Failed) Counts(JsonElement batch)
    {
        var counts = batch.GetProperty("request_counts");
        return (counts.GetProperty("total").GetInt32(), counts.GetProperty("completed").GetInt32(), counts.GetProperty("failed").GetInt32());
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response)
    {
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return document.RootElement.Clone();
    }

    /// <summary>Checks OpenAI's error body <c>{"error":{"message","type","param","code"}}</c> and returns its <c>error</c>.</summary>
    private static async Task<JsonElement> AssertOpenAiErrorAsync(HttpResponseMessage response, HttpStatusCode status, string? message)
    {
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(status == response.StatusCode, $"{(int)response.StatusCode}: {body}");
        using var document = JsonDocument.Parse(body);
        var error = document.RootElement.GetProperty("error").Clone();
        Assert.Equal(JsonValueKind.String, error.GetProperty("type").ValueKind);
        Assert.True(error.TryGetProperty("param", out _));
        Assert.True(error.TryGetProperty("code", out _));
        if (message is not null)
        {
            Assert.Equal(message, error.GetProperty("message").GetString());
        }

        return error;
    }
}
