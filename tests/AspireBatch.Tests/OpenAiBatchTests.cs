// The SDK marks its Batch client experimental (OPENAI001); user code calls it exactly like this.
#pragma warning disable OPENAI001
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AspireBatch.Simulator;
using OpenAI;
using OpenAI.Batch;
using OpenAI.Files;

namespace AspireBatch.Tests;

/// <summary>The official OpenAI .NET SDK, given only our endpoint and key, runs OpenAI batches end to end against the stack.</summary>
public sealed class OpenAiBatchTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task A_1000_line_batch_runs_end_to_end_through_the_openai_sdk()
    {
        var client = OpenAiSdk.Client(stack);
        var files = client.GetOpenAIFileClient();
        var batches = client.GetBatchClient();
        var content = OpenAiSdk.BatchLines(1000, "gpt-4");

        OpenAIFile file = await files.UploadFileAsync(BinaryData.FromString(content), "requests.jsonl", FileUploadPurpose.Batch);
        Assert.Matches("^file-[0-9a-z]{24}$", file.Id);
        Assert.Equal(FilePurpose.Batch, file.Purpose);
        Assert.Equal(Encoding.UTF8.GetByteCount(content), file.SizeInBytesLong);
        Assert.Equal(content, (await files.DownloadFileAsync(file.Id)).Value.ToString());

        var operation = await batches.CreateBatchAsync(OpenAiSdk.CreateBatchBody(file.Id, new { project = "tests" }), waitUntilCompleted: false);
        Assert.Matches("^batch_[0-9a-f]{32}$", operation.BatchId);
        var batch = await OpenAiSdk.WaitForCompletionAsync(operation, TimeSpan.FromMinutes(3));

        Assert.Equal("completed", batch.GetProperty("status").GetString());
        Assert.Equal(file.Id, batch.GetProperty("input_file_id").GetString());
        Assert.Equal("gpt-4.1", batch.GetProperty("model").GetString());
        Assert.Equal("tests", batch.GetProperty("metadata").GetProperty("project").GetString());
        var counts = batch.GetProperty("request_counts");
        Assert.Equal((1000, 1000, 0), (counts.GetProperty("total").GetInt32(), counts.GetProperty("completed").GetInt32(), counts.GetProperty("failed").GetInt32()));
        var usage = batch.GetProperty("usage");
        Assert.True(usage.GetProperty("input_tokens").GetInt64() > 0 && usage.GetProperty("output_tokens").GetInt64() > 0);
        Assert.Equal(usage.GetProperty("input_tokens").GetInt64() + usage.GetProperty("output_tokens").GetInt64(), usage.GetProperty("total_tokens").GetInt64());
        // Nothing failed, so there is no error file, as at OpenAI.
        Assert.Equal(JsonValueKind.Null, batch.GetProperty("error_file_id").ValueKind);

        // The SDK's own model reads the same object.
        var typed = (BatchJob)await batches.GetBatchAsync(operation.BatchId, options: null);
        Assert.Equal(batch.GetProperty("output_file_id").GetString(), typed.OutputFileId);
        Assert.NotNull(typed.CompletedAt);
        Assert.True(typed.CreatedAt <= typed.CompletedAt);

        OpenAIFile outputFile = await files.GetFileAsync(typed.OutputFileId);
        Assert.Equal(FilePurpose.BatchOutput, outputFile.Purpose);
        var outputText = (await files.DownloadFileAsync(typed.OutputFileId)).Value.ToString();
        Assert.Equal(Encoding.UTF8.GetByteCount(outputText), outputFile.SizeInBytesLong);
        var output = OpenAiSdk.Lines(outputText);
        Assert.Equal(1000, output.Count);
        var seen = new HashSet<string>();
        foreach (var line in output)
        {
            var customId = line.GetProperty("custom_id").GetString()!;
            Assert.True(seen.Add(customId), $"{customId} came back twice");
            var i = int.Parse(customId["request-".Length..]);
            Assert.StartsWith("batch_req_", line.GetProperty("id").GetString());
            var response = line.GetProperty("response");
            Assert.Equal(200, response.GetProperty("status_code").GetInt32());
            Assert.Equal(SimulatorAnswers.Answer("gpt-4.1", [("user", $"Say {i}")]),
                response.GetProperty("body").GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            Assert.Equal(JsonValueKind.Null, line.GetProperty("error").ValueKind);
        }
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => $"request-{i}").ToHashSet(), seen);

        // Deleting the output file: gone for good, while the batch still names it (as at OpenAI).
        FileDeletionResult deletedOutput = await files.DeleteFileAsync(typed.OutputFileId);
        Assert.True(deletedOutput.Deleted);
        var again = (BatchJob)await batches.GetBatchAsync(operation.BatchId, options: null);
        Assert.Equal(typed.OutputFileId, again.OutputFileId);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => files.GetFileAsync(typed.OutputFileId))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => files.DownloadFileAsync(typed.OutputFileId))).Status);
        Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => files.DeleteFileAsync(typed.OutputFileId))).Status);
        OpenAIFileCollection outputs = await files.GetFilesAsync(FilePurpose.BatchOutput);
        Assert.DoesNotContain(outputs, f => f.Id == typed.OutputFileId);
    }

    [Fact]
    public async Task Cancel_keeps_what_finished_and_puts_the_rest_in_the_error_file()
    {
        (await stack.SimPrimary.PutAsJsonAsync("/admin/config", new { latencyMs = 200 })).EnsureSuccessStatusCode();
        var client = OpenAiSdk.Client(stack);
        var files = client.GetOpenAIFileClient();
        var batches = client.GetBatchClient();
        OpenAIFile file = await files.UploadFileAsync(BinaryData.FromString(OpenAiSdk.BatchLines(3000, "deepseek-chat")), "many.jsonl", FileUploadPurpose.Batch);
        var operation = await batches.CreateBatchAsync(OpenAiSdk.CreateBatchBody(file.Id), waitUntilCompleted: false);
        await OpenAiSdk.WaitUntilAsync(batches, operation.BatchId, b => b.GetProperty("request_counts").GetProperty("completed").GetInt32() >= 50, TimeSpan.FromMinutes(1));

        var cancelling = OpenAiSdk.Json(await operation.CancelAsync(options: null));
        Assert.Contains(cancelling.GetProperty("status").GetString(), new[] { "cancelling", "cancelled" });
        Assert.Equal(JsonValueKind.Number, cancelling.GetProperty("cancelling_at").ValueKind);
        await stack.ResetSimulatorsAsync();
        var batch = await OpenAiSdk.WaitForCompletionAsync(operation, TimeSpan.FromMinutes(1));
        Assert.Equal("cancelled", batch.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Number, batch.GetProperty("cancelled_at").ValueKind);
        var counts = batch.GetProperty("request_counts");
        var completed = counts.GetProperty("completed").GetInt32();
        Assert.Equal(3000, counts.GetProperty("total").GetInt32());
        Assert.True(completed >= 50 && completed + counts.GetProperty("failed").GetInt32() < 3000, $"completed {completed}");

        var output = OpenAiSdk.Lines((await files.DownloadFileAsync(batch.GetProperty("output_file_id").GetString()!)).Value.ToString());
        var errors = OpenAiSdk.Lines((await files.DownloadFileAsync(batch.GetProperty("error_file_id").GetString()!)).Value.ToString());
        Assert.Equal(completed, output.Count);
        Assert.Equal(3000 - completed, errors.Count);
        Assert.Contains(errors, e => e.GetProperty("error").GetProperty("code").GetString() == "cancelled");
        var ids = output.Concat(errors).Select(l => l.GetProperty("custom_id").GetString()).ToList();
        Assert.Equal(3000, ids.Distinct().Count());
        Assert.All(output, l => Assert.Equal(
            SimulatorAnswers.Answer("deepseek-chat", [("user", $"Say {l.GetProperty("custom_id").GetString()!["request-".Length..]}")]),
            l.GetProperty("response").GetProperty("body").GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()));

        // Cancelling again changes nothing; a completed batch cannot be cancelled.
        Assert.Equal("cancelled", OpenAiSdk.Json(await operation.CancelAsync(options: null)).GetProperty("status").GetString());
        var small = await OpenAiSdk.RunSmallBatchAsync(stack, 3);
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => batches.CreateBatchOperationCancel(small));
        Assert.Equal(409, refused.Status);
    }

    [Fact]
    public async Task An_invalid_file_makes_a_failed_batch_with_line_numbered_errors()
    {
        var client = OpenAiSdk.Client(stack);
        var files = client.GetOpenAIFileClient();
        var batches = client.GetBatchClient();
        var good = OpenAiSdk.BatchLines(2, "gpt-4").Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var content = string.Join('\n', good[0], "this is not json",
            """{"method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4","messages":[]}}""", good[0], good[1]) + "\n";
        OpenAIFile file = await files.UploadFileAsync(BinaryData.FromString(content), "broken.jsonl", FileUploadPurpose.Batch);

        var operation = await batches.CreateBatchAsync(OpenAiSdk.CreateBatchBody(file.Id), waitUntilCompleted: false);
        Assert.True(operation.HasCompleted, "a batch that failed validation is final");
        var batch = OpenAiSdk.Json(await batches.GetBatchAsync(operation.BatchId, options: null));
        Assert.Equal("failed", batch.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Number, batch.GetProperty("failed_at").ValueKind);
        Assert.Equal(0, batch.GetProperty("request_counts").GetProperty("total").GetInt32());
        var errors = batch.GetProperty("errors");
        Assert.Equal("list", errors.GetProperty("object").GetString());
        var data = errors.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(new[] { 2, 3, 4 }, data.Select(e => e.GetProperty("line").GetInt32()));
        Assert.All(data, e => Assert.Equal("invalid_request", e.GetProperty("code").GetString()));
        Assert.Contains("custom_id", data[1].GetProperty("message").GetString());
        Assert.Contains("duplicate", data[2].GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Null, batch.GetProperty("output_file_id").ValueKind);
    }

    [Fact]
    public async Task Batches_and_files_list_page_and_delete_like_openai()
    {
        var client = OpenAiSdk.Client(stack);
        var files = client.GetOpenAIFileClient();
        var batches = client.GetBatchClient();
        var created = new List<string>();
        for (var n = 0; n < 3; n++)
        {
            OpenAIFile file = await files.UploadFileAsync(BinaryData.FromString(OpenAiSdk.BatchLines(2, "deepseek-chat")), $"list-{n}.jsonl", FileUploadPurpose.Batch);
            created.Add((await batches.CreateBatchAsync(OpenAiSdk.CreateBatchBody(file.Id), waitUntilCompleted: false)).BatchId);
        }
        created.Reverse();

        // Newest first, two at a time, with a cursor.
        var first = OpenAiSdk.Json(await client.GetBatchClient().Pipeline.GetAsync(stack, "batches?limit=2"));
        Assert.Equal("list", first.GetProperty("object").GetString());
        Assert.True(first.GetProperty("has_more").GetBoolean());
        Assert.Equal(created.Take(2), first.GetProperty("data").EnumerateArray().Select(b => b.GetProperty("id").GetString()!));
        Assert.Equal(created[0], first.GetProperty("first_id").GetString());
        Assert.Equal(created[1], first.GetProperty("last_id").GetString());
        var next = OpenAiSdk.Json(await client.GetBatchClient().Pipeline.GetAsync(stack, $"batches?limit=2&after={created[1]}"));
        Assert.Equal(created[2], next.GetProperty("data")[0].GetProperty("id").GetString());

        // The SDK's pager walks every page and finds all three.
        var all = new List<string>();
        await foreach (var job in batches.GetBatchesAsync(new BatchCollectionOptions { PageSizeLimit = 2 }))
        {
            all.Add(job.Id);
        }
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Superset(created.ToHashSet(), all.ToHashSet());

        var bad = await Assert.ThrowsAsync<ClientResultException>(() => client.GetBatchClient().Pipeline.GetAsync(stack, "batches?limit=101"));
        Assert.Equal(400, bad.Status);

        // Files: listed by purpose, deleted, then gone.
        OpenAIFile doomed = await files.UploadFileAsync(BinaryData.FromString(OpenAiSdk.BatchLines(1, "gpt-4")), "doomed.jsonl", FileUploadPurpose.Batch);
        OpenAIFileCollection listed = await files.GetFilesAsync(FilePurpose.Batch);
        Assert.Contains(listed, f => f.Id == doomed.Id && f.Filename == "doomed.jsonl");
        Assert.Equal(listed.OrderByDescending(f => f.CreatedAt).Select(f => f.CreatedAt), listed.Select(f => f.CreatedAt));
        FileDeletionResult deleted = await files.DeleteFileAsync(doomed.Id);
        Assert.True(deleted.Deleted);
        Assert.Equal(doomed.Id, deleted.FileId);
        var gone = await Assert.ThrowsAsync<ClientResultException>(() => files.GetFileAsync(doomed.Id));
        Assert.Equal(404, gone.Status);
    }

    [Fact]
    public async Task Refusals_come_in_openai_error_shape_with_the_right_status()
    {
        var client = OpenAiSdk.Client(stack);
        var batches = client.GetBatchClient();
        var files = client.GetOpenAIFileClient();

        var unknownFile = await Assert.ThrowsAsync<ClientResultException>(() => batches.CreateBatchAsync(OpenAiSdk.CreateBatchBody("file-000000000000000000000000"), false));
        Assert.Equal(404, unknownFile.Status);
        AssertOpenAiError(unknownFile, "input_file_id");

        OpenAIFile file = await files.UploadFileAsync(BinaryData.FromString(OpenAiSdk.BatchLines(1, "gpt-4")), "one.jsonl", FileUploadPurpose.Batch);
        foreach (var (body, param) in new (object, string)[]
        {
            (new { input_file_id = file.Id, endpoint = "/v1/responses", completion_window = "24h" }, "endpoint"),
            (new { input_file_id = file.Id, endpoint = "/v1/chat/completions", completion_window = "1h" }, "completion_window"),
            (new { endpoint = "/v1/chat/completions", completion_window = "24h" }, "input_file_id"),
            (new { input_file_id = file.Id, endpoint = "/v1/chat/completions", completion_window = "24h", metadata = new { n = 1 } }, "metadata.n"),
        })
        {
            var refused = await Assert.ThrowsAsync<ClientResultException>(() => batches.CreateBatchAsync(BinaryContent.Create(BinaryData.FromObjectAsJson(body)), false));
            Assert.Equal(400, refused.Status);
            AssertOpenAiError(refused, param);
        }
        var missing = await Assert.ThrowsAsync<ClientResultException>(() => batches.GetBatchAsync("batch_00000000000000000000000000000000", null));
        Assert.Equal(404, missing.Status);
        AssertOpenAiError(missing, "batch_id");

        // A wrong key: OpenAI's 401 on /v1, ProblemDetails still on /api.
        var wrongKey = new OpenAIClient(new ApiKeyCredential("sk-wrong-key"), new OpenAIClientOptions { Endpoint = OpenAiSdk.Endpoint(stack) });
        var unauthorized = await Assert.ThrowsAsync<ClientResultException>(() => wrongKey.GetOpenAIFileClient().GetFilesAsync());
        Assert.Equal(401, unauthorized.Status);
        var error = AssertOpenAiError(unauthorized, null);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        using var anonymous = new HttpClient { BaseAddress = stack.Api.BaseAddress };
        var problem = await anonymous.GetAsync("/api/jobs");
        Assert.Equal(401, (int)problem.StatusCode);
        Assert.Equal("application/problem+json", problem.Content.Headers.ContentType?.MediaType);
    }

    private static JsonElement AssertOpenAiError(ClientResultException exception, string? param)
    {
        var body = OpenAiSdk.Json(exception.GetRawResponse()!.Content);
        var error = body.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.True(error.TryGetProperty("code", out _));
        return error;
    }
}

/// <summary>The few lines user code needs to point the OpenAI SDK at AspireBatch, and helpers to read what it answers.</summary>
internal static class OpenAiSdk
{
    public static Uri Endpoint(StackFixture stack) => new($"{stack.Api.BaseAddress}v1");

    public static OpenAIClient Client(StackFixture stack) =>
        new(new ApiKeyCredential(StackFixture.ApiKey), new OpenAIClientOptions { Endpoint = Endpoint(stack), NetworkTimeout = TimeSpan.FromMinutes(2) });

    public static string BatchLines(int count, string model) => JobApiClient.Jsonl(count, i => new
    {
        custom_id = $"request-{i}",
        method = "POST",
        url = "/v1/chat/completions",
        body = new { model, messages = new object[] { new { role = "user", content = $"Say {i}" } }, max_tokens = 100 },
    });

    public static BinaryContent CreateBatchBody(string fileId, object? metadata = null) => BinaryContent.Create(BinaryData.FromObjectAsJson(
        new { input_file_id = fileId, endpoint = "/v1/chat/completions", completion_window = "24h", metadata }));

    public static JsonElement Json(ClientResult result) => Json(result.GetRawResponse().Content);

    public static JsonElement Json(BinaryData content) => JsonDocument.Parse(content.ToString()).RootElement.Clone();

    public static List<JsonElement> Lines(string jsonl) =>
        jsonl.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();

    /// <summary>Polls the way the SDK's operation does, bounded by <paramref name="timeout"/>; returns the final batch object.</summary>
    public static async Task<JsonElement> WaitForCompletionAsync(CreateBatchOperation operation, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var batch = Json(await operation.UpdateStatusAsync());
            if (operation.HasCompleted)
            {
                return batch;
            }
            Assert.True(clock.Elapsed < timeout, $"batch {operation.BatchId} still {batch.GetProperty("status")} after {timeout}: {batch.GetProperty("request_counts")}");
            await Task.Delay(500);
        }
    }

    public static async Task<JsonElement> WaitUntilAsync(BatchClient batches, string batchId, Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var batch = Json(await batches.GetBatchAsync(batchId, null));
            if (condition(batch))
            {
                return batch;
            }
            Assert.True(clock.Elapsed < timeout, $"batch {batchId} did not get there within {timeout}: {batch}");
            await Task.Delay(250);
        }
    }

    /// <summary>Uploads and runs a small batch to completion; returns its id.</summary>
    public static async Task<string> RunSmallBatchAsync(StackFixture stack, int lines)
    {
        var client = Client(stack);
        OpenAIFile file = await client.GetOpenAIFileClient().UploadFileAsync(BinaryData.FromString(BatchLines(lines, "deepseek-chat")), "small.jsonl", FileUploadPurpose.Batch);
        var operation = await client.GetBatchClient().CreateBatchAsync(CreateBatchBody(file.Id), waitUntilCompleted: false);
        var batch = await WaitForCompletionAsync(operation, TimeSpan.FromMinutes(1));
        Assert.Equal("completed", batch.GetProperty("status").GetString());
        return operation.BatchId;
    }

    /// <summary>Cancels a batch by id, as code that kept only the id does.</summary>
    public static async Task<ClientResult> CreateBatchOperationCancel(this BatchClient batches, string batchId)
    {
        var operation = await CreateBatchOperation.RehydrateAsync(batches, batchId);
        return await operation.CancelAsync(options: null);
    }

    /// <summary>A GET through the SDK's own pipeline (its auth, retries and error handling) for query strings the typed API does not expose.</summary>
    public static async Task<ClientResult> GetAsync(this ClientPipeline pipeline, StackFixture stack, string pathAndQuery)
    {
        using var message = pipeline.CreateMessage();
        message.Request.Method = "GET";
        message.Request.Uri = new Uri($"{Endpoint(stack)}/{pathAndQuery}");
        message.ResponseClassifier = PipelineMessageClassifier.Create(new ushort[] { 200 });
        await pipeline.SendAsync(message);
        var response = message.Response!;
        if (response.IsError)
        {
            throw new ClientResultException(response);
        }
        return ClientResult.FromResponse(message.ExtractResponse()!);
    }
}
