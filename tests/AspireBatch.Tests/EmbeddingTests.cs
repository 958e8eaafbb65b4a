// The SDK marks its Batch client experimental (OPENAI001); user code calls it exactly like this.
#pragma warning disable OPENAI001
using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Simulator.Apis;
using CsvHelper;
using OpenAI.Embeddings;
using OpenAI.Files;

namespace AspireBatch.Tests;

/// <summary>
/// Embeddings jobs and batches: records go to /v1/embeddings, each gets the simulator's deterministic vector (checked
/// value by value against the simulator's own function), vectors are stored as float32 bytes, exported as floats, in
/// CSV and in OpenAI's batch output, and priced per input token.
/// </summary>
public sealed class EmbeddingTests(StackFixture stack) : IAsyncLifetime
{
    private const string Model = "text-embedding-3-small";
    private const decimal InputPrice = 0.02m;

    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task A_jsonl_job_embeds_each_records_input_field_once_and_prices_it_by_input_tokens()
    {
        var before = await EmbeddingRequestsAsync();
        // 60 records, 40 distinct inputs: embeddings deduplicate by default.
        var content = JobApiClient.Jsonl(60, i => new { id = $"e{i}", input = $"embed me {i % 40}" });
        var created = await stack.Api.CreateAsync("docs.jsonl", content, new Dictionary<string, string?>
        {
            ["model"] = Model, ["endpoint"] = "/v1/embeddings", ["dimensions"] = "64",
        });
        Assert.Equal(JobEndpoint.Embeddings, created.Job.Endpoint);
        Assert.Equal("{{input}}", created.Job.UserTemplate);
        Assert.Equal((20, 0L), (created.Estimate.DeduplicatedCalls, created.Estimate.MaxOutputTokens));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        var failed = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Id}/items?state=Failed&pageSize=1", StackFixture.Json))!.Items;
        Assert.True(failed.Count == 0, failed.Count == 0 ? "" : $"{failed[0].ErrorCode}: {failed[0].ErrorMessage}");
        Assert.Equal((60, 0), (job.Counters.Succeeded, job.Counters.Failed));
        Assert.Equal(40, await EmbeddingRequestsAsync() - before);
        Assert.Equal(0, job.Counters.OutputTokens);
        Assert.Equal(job.Counters.InputTokens * InputPrice / 1_000_000m, job.Counters.CostUsd);

        foreach (var line in await stack.Api.ExportAsync(job.Id))
        {
            var input = line.GetProperty("record").GetProperty("input").GetString()!;
            Assert.Equal(EmbeddingsApi.Vector(Model, input, 64), line.GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()));
            Assert.Equal(JsonValueKind.Null, line.GetProperty("answer").ValueKind);
        }
        // Compact: 4 bytes a value, the provider's JSON body not kept.
        Assert.Equal(60, await stack.ScalarAsync<long>(
            "SELECT count(*) FROM items WHERE job_id = @job AND octet_length(embedding) = 256 AND embedding_dimensions = 64 AND response_body IS NULL", ("job", job.Id)));

        var items = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Id}/items?pageSize=1", StackFixture.Json))!.Items;
        var detail = (await stack.Api.GetFromJsonAsync<ItemDetailDto>($"/api/jobs/{job.Id}/items/{items[0].Id}", StackFixture.Json))!;
        Assert.Equal((1, 64), (detail.Embedding!.Count, detail.Embedding.Dimensions));
        Assert.Equal(1.0, detail.Embedding.Norm, 3);
        Assert.Equal(EmbeddingsApi.Vector(Model, "embed me 0", 64).Take(8), detail.Embedding.Head);
        Assert.Contains("\"input\":\"embed me 0\"", detail.RenderedRequest);
        Assert.Contains("\"dimensions\":64", detail.RenderedRequest);

        // CSV: the vector as a JSON array in an embedding column.
        using var csv = new CsvReader(new StringReader(await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=csv")), CultureInfo.InvariantCulture);
        var rows = csv.GetRecords<dynamic>().Cast<IDictionary<string, object>>().ToList();
        Assert.Equal(60, rows.Count);
        var row = rows.First(r => (string)r["id"] == "e41");
        Assert.Equal(EmbeddingsApi.Vector(Model, "embed me 1", 64), JsonSerializer.Deserialize<float[]>((string)row["embedding"]));
    }

    [Fact]
    public async Task A_csv_job_embeds_its_rendered_template_at_the_models_own_size()
    {
        var content = "id,title\n" + string.Join("\n", Enumerable.Range(0, 12).Select(i => $"c{i},Title {i}")) + "\n";
        var created = await stack.Api.CreateAsync("titles.csv", content, new Dictionary<string, string?>
        {
            ["model"] = Model, ["endpoint"] = "embeddings", ["userTemplate"] = "Document: {{title}}",
        });
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        foreach (var line in await stack.Api.ExportAsync(job.Id, "openai"))
        {
            var i = int.Parse(line.GetProperty("custom_id").GetString()![1..]);
            var body = line.GetProperty("response").GetProperty("body");
            Assert.Equal("list", body.GetProperty("object").GetString());
            var vector = body.GetProperty("data")[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            // The simulator's default size (256) when the job asks none.
            Assert.Equal(EmbeddingsApi.Vector(Model, $"Document: Title {i}", 256), vector);
            Assert.True(body.GetProperty("usage").GetProperty("prompt_tokens").GetInt32() > 0);
        }
    }

    [Fact]
    public async Task The_openai_sdk_runs_an_embeddings_batch_unchanged()
    {
        var client = OpenAiSdk.Client(stack);
        var files = client.GetOpenAIFileClient();
        var batches = client.GetBatchClient();
        // Strings, lists of strings, and base64 encoding: the shapes OpenAI's embeddings requests take.
        var content = JobApiClient.Jsonl(30, i => new
        {
            custom_id = $"doc-{i}",
            method = "POST",
            url = "/v1/embeddings",
            body = i % 3 == 0
                ? (object)new { model = Model, input = new[] { $"first {i}", $"second {i}" }, dimensions = 32 }
                : i % 3 == 1 ? new { model = Model, input = $"text {i}", dimensions = 32, encoding_format = "base64" } : new { model = Model, input = $"text {i}", dimensions = 32 },
        });
        OpenAIFile file = await files.UploadFileAsync(BinaryData.FromString(content), "embeddings.jsonl", FileUploadPurpose.Batch);
        var operation = await batches.CreateBatchAsync(BinaryContent.Create(BinaryData.FromObjectAsJson(
            new { input_file_id = file.Id, endpoint = "/v1/embeddings", completion_window = "24h" })), waitUntilCompleted: false);
        var batch = await OpenAiSdk.WaitForCompletionAsync(operation, TimeSpan.FromMinutes(2));
        Assert.Equal("completed", batch.GetProperty("status").GetString());
        Assert.Equal("/v1/embeddings", batch.GetProperty("endpoint").GetString());

        var output = OpenAiSdk.Lines((await files.DownloadFileAsync(batch.GetProperty("output_file_id").GetString()!)).Value.ToString());
        Assert.Equal(30, output.Count);
        foreach (var line in output)
        {
            var i = int.Parse(line.GetProperty("custom_id").GetString()!["doc-".Length..]);
            var body = line.GetProperty("response").GetProperty("body");
            // The SDK's own model reads each body, floats and base64 alike.
            var embeddings = ModelReaderWriter.Read<OpenAIEmbeddingCollection>(BinaryData.FromString(body.GetRawText()))!;
            var inputs = i % 3 == 0 ? new[] { $"first {i}", $"second {i}" } : [$"text {i}"];
            Assert.Equal(inputs.Length, embeddings.Count);
            for (var k = 0; k < inputs.Length; k++)
            {
                Assert.Equal(EmbeddingsApi.Vector(Model, inputs[k], 32), embeddings[k].ToFloats().ToArray());
            }
            Assert.Equal(i % 3 == 1 ? JsonValueKind.String : JsonValueKind.Array, body.GetProperty("data")[0].GetProperty("embedding").ValueKind);
            Assert.True(embeddings.Usage.InputTokenCount > 0);
        }
    }

    public static TheoryData<string, string, Dictionary<string, string?>, string> BadRequests => new()
    {
        { "a.jsonl", "{\"id\":\"a\",\"text\":\"no input\"}\n", new() { ["model"] = Model, ["endpoint"] = "/v1/embeddings" }, "line 1: no field for placeholder {{input}}" },
        { "a.jsonl", "{\"id\":\"a\",\"input\":\"x\"}\n", new() { ["model"] = Model, ["endpoint"] = "/v1/embeddings", ["temperature"] = "0" }, "temperature does not apply to /v1/embeddings jobs" },
        { "a.jsonl", "{\"id\":\"a\",\"input\":\"x\"}\n", new() { ["model"] = Model, ["userTemplate"] = "{{input}}", ["dimensions"] = "8" }, "dimensions applies to /v1/embeddings jobs only" },
        { "a.jsonl", "{\"id\":\"a\",\"input\":\"x\"}\n", new() { ["model"] = Model, ["endpoint"] = "/v1/moderations" }, "Unknown endpoint" },
        { "b.jsonl", BatchLine("a", "/v1/embeddings", new { model = Model, input = "x" }) + BatchLine("b", "/v1/chat/completions",
            new { model = Model, messages = new[] { new { role = "user", content = "x" } } }), new() { ["format"] = "openai-batch" }, "line 2: every line must use the same url" },
        { "b.jsonl", BatchLine("a", "/v1/embeddings", new { model = Model, input = Array.Empty<string>() }), new() { ["format"] = "openai-batch" }, "line 1: \"body.input\" must be" },
        { "b.jsonl", BatchLine("a", "/v1/embeddings", new { model = Model, input = "x", encoding_format = "int8" }), new() { ["format"] = "openai-batch" }, "line 1: \"body.encoding_format\"" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_embeddings_request_is_refused_with_its_reason_and_creates_nothing(string fileName, string content, Dictionary<string, string?> fields, string expected)
    {
        var jobsBefore = await stack.ScalarAsync<long>("SELECT count(*) FROM jobs");
        using var response = await stack.Api.PostAsync("/api/jobs", JobApiClient.Form(fileName, content, fields));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(expected, problem.GetProperty("detail").GetString());
        Assert.Equal(jobsBefore, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs"));
    }

    [Fact]
    public async Task A_batch_whose_lines_are_not_its_endpoint_fails_with_the_line()
    {
        var client = OpenAiSdk.Client(stack);
        OpenAIFile file = await client.GetOpenAIFileClient().UploadFileAsync(
            BinaryData.FromString(BatchLine("a", "/v1/embeddings", new { model = Model, input = "x" })), "e.jsonl", FileUploadPurpose.Batch);
        var operation = await client.GetBatchClient().CreateBatchAsync(BinaryContent.Create(BinaryData.FromObjectAsJson(
            new { input_file_id = file.Id, endpoint = "/v1/chat/completions", completion_window = "24h" })), waitUntilCompleted: false);
        var batch = OpenAiSdk.Json(operation.GetRawResponse().Content);
        Assert.Equal("failed", batch.GetProperty("status").GetString());
        var error = batch.GetProperty("errors").GetProperty("data")[0];
        Assert.Equal(1, error.GetProperty("line").GetInt32());
        Assert.Contains("but the batch's endpoint is \"/v1/chat/completions\"", error.GetProperty("message").GetString());
    }

    private static string BatchLine(string id, string url, object body) =>
        JsonSerializer.Serialize(new { custom_id = id, method = "POST", url, body }) + "\n";

    private async Task<long> EmbeddingRequestsAsync()
    {
        long total = 0;
        foreach (var simulator in new[] { stack.SimPrimary, stack.SimFallback })
        {
            using var stats = JsonDocument.Parse(await simulator.GetStringAsync("/admin/stats"));
            total += stats.RootElement.GetProperty("embeddingRequests").GetInt64();
        }
        return total;
    }
}
