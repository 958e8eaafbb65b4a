// The SDK marks its Batch client experimental (OPENAI001); user code calls it exactly like this.
#pragma warning disable OPENAI001
using System.ClientModel;
using System.Text.Json;
using OpenAI.Files;

namespace AspireBatch.Tests;

/// <summary>
/// Our objects checked field by field, names and JSON types, against OpenAI's published OpenAPI document
/// (github.com/openai/openai-openapi, openapi.yaml, components/schemas Batch, BatchError, BatchRequestCounts, OpenAIFile,
/// ListBatchesResponse, ListFilesResponse, DeleteFileResponse and Error, as of commit f85dbe2 of August 2026).
/// A field the spec marks required must be there and not null; an optional one may be null; nothing else may appear.
/// </summary>
public sealed class OpenAiSchemaTests(StackFixture stack) : IAsyncLifetime
{
    private const JsonValueKind Str = JsonValueKind.String;
    private const JsonValueKind Num = JsonValueKind.Number;
    private const JsonValueKind Obj = JsonValueKind.Object;
    private const JsonValueKind Arr = JsonValueKind.Array;

    private sealed record Field(JsonValueKind Kind, bool Required = false, IReadOnlyDictionary<string, Field>? Properties = null);

    private static readonly IReadOnlyDictionary<string, Field> BatchRequestCounts = new Dictionary<string, Field>
    {
        ["total"] = new(Num, true), ["completed"] = new(Num, true), ["failed"] = new(Num, true),
    };

    private static readonly IReadOnlyDictionary<string, Field> BatchUsage = new Dictionary<string, Field>
    {
        ["input_tokens"] = new(Num, true),
        ["input_tokens_details"] = new(Obj, true, new Dictionary<string, Field> { ["cached_tokens"] = new(Num, true) }),
        ["output_tokens"] = new(Num, true),
        ["output_tokens_details"] = new(Obj, true, new Dictionary<string, Field> { ["reasoning_tokens"] = new(Num, true) }),
        ["total_tokens"] = new(Num, true),
    };

    private static readonly IReadOnlyDictionary<string, Field> BatchErrors = new Dictionary<string, Field>
    {
        ["object"] = new(Str), ["data"] = new(Arr),
    };

    private static readonly IReadOnlyDictionary<string, Field> BatchError = new Dictionary<string, Field>
    {
        ["code"] = new(Str), ["message"] = new(Str), ["param"] = new(Str), ["line"] = new(Num),
    };

    private static readonly IReadOnlyDictionary<string, Field> Batch = new Dictionary<string, Field>
    {
        ["id"] = new(Str, true),
        ["object"] = new(Str, true),
        ["endpoint"] = new(Str, true),
        ["model"] = new(Str),
        ["errors"] = new(Obj, false, BatchErrors),
        ["input_file_id"] = new(Str, true),
        ["completion_window"] = new(Str, true),
        ["status"] = new(Str, true),
        ["output_file_id"] = new(Str),
        ["error_file_id"] = new(Str),
        ["created_at"] = new(Num, true),
        ["in_progress_at"] = new(Num),
        ["expires_at"] = new(Num),
        ["finalizing_at"] = new(Num),
        ["completed_at"] = new(Num),
        ["failed_at"] = new(Num),
        ["expired_at"] = new(Num),
        ["cancelling_at"] = new(Num),
        ["cancelled_at"] = new(Num),
        ["request_counts"] = new(Obj, false, BatchRequestCounts),
        ["usage"] = new(Obj, false, BatchUsage),
        ["metadata"] = new(Obj),
    };

    private static readonly IReadOnlyDictionary<string, Field> OpenAiFile = new Dictionary<string, Field>
    {
        ["id"] = new(Str, true),
        ["bytes"] = new(Num, true),
        ["created_at"] = new(Num, true),
        ["expires_at"] = new(Num),
        ["filename"] = new(Str, true),
        ["object"] = new(Str, true),
        ["purpose"] = new(Str, true),
        ["status"] = new(Str, true),
        ["status_details"] = new(Str),
    };

    private static readonly string[] BatchStatuses = ["validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"];
    private static readonly string[] FilePurposes = ["assistants", "assistants_output", "batch", "batch_output", "fine-tune", "fine-tune-results", "vision", "user_data"];

    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task Batch_file_list_and_error_objects_have_exactly_openais_fields_and_types()
    {
        var client = OpenAiSdk.Client(stack);
        var files = client.GetOpenAIFileClient();
        var batches = client.GetBatchClient();

        var uploaded = await files.UploadFileAsync(BinaryData.FromString(OpenAiSdk.BatchLines(3, "deepseek-chat")), "schema.jsonl", FileUploadPurpose.Batch);
        var upload = OpenAiSdk.Json(uploaded.GetRawResponse().Content);
        AssertShape(upload, OpenAiFile, "file");
        Assert.Equal("file", upload.GetProperty("object").GetString());
        Assert.Contains(upload.GetProperty("purpose").GetString(), FilePurposes);
        var fileId = upload.GetProperty("id").GetString()!;
        AssertShape(OpenAiSdk.Json(await files.GetFileAsync(fileId, null)), OpenAiFile, "file");

        var created = await batches.CreateBatchAsync(OpenAiSdk.CreateBatchBody(fileId, new { k = "v" }), waitUntilCompleted: false);
        var inProgress = OpenAiSdk.Json(created.GetRawResponse().Content);
        AssertBatch(inProgress);
        var done = await OpenAiSdk.WaitForCompletionAsync(created, TimeSpan.FromMinutes(1));
        AssertBatch(done);
        foreach (var stamp in new[] { "in_progress_at", "expires_at", "finalizing_at", "completed_at" })
        {
            Assert.Equal(Num, done.GetProperty(stamp).ValueKind);
        }
        Assert.Equal(Str, done.GetProperty("output_file_id").ValueKind);
        Assert.Equal(24 * 3600, done.GetProperty("expires_at").GetInt64() - done.GetProperty("created_at").GetInt64());
        var output = OpenAiSdk.Json(await files.GetFileAsync(done.GetProperty("output_file_id").GetString()!, null));
        AssertShape(output, OpenAiFile, "output file");
        Assert.Equal("batch_output", output.GetProperty("purpose").GetString());

        // A batch whose file failed validation: errors is a list of BatchError.
        OpenAIFile bad = await files.UploadFileAsync(BinaryData.FromString("{}\n"), "bad.jsonl", FileUploadPurpose.Batch);
        var failed = OpenAiSdk.Json((await batches.CreateBatchAsync(OpenAiSdk.CreateBatchBody(bad.Id), false)).GetRawResponse().Content);
        AssertBatch(failed);
        var error = failed.GetProperty("errors").GetProperty("data")[0];
        AssertShape(error, BatchError, "errors.data[0]");
        Assert.Equal(Num, error.GetProperty("line").ValueKind);

        // ListBatchesResponse and ListFilesResponse.
        var batchList = OpenAiSdk.Json(await client.GetBatchClient().Pipeline.GetAsync(stack, "batches?limit=2"));
        AssertList(batchList, "batch list");
        Assert.All(batchList.GetProperty("data").EnumerateArray(), AssertBatch);
        var fileList = OpenAiSdk.Json(await files.GetFilesAsync(null, null));
        AssertList(fileList, "file list");
        Assert.All(fileList.GetProperty("data").EnumerateArray(), f => AssertShape(f, OpenAiFile, "listed file"));

        // DeleteFileResponse.
        var deleted = OpenAiSdk.Json(await files.DeleteFileAsync(bad.Id, null));
        AssertShape(deleted, new Dictionary<string, Field> { ["id"] = new(Str, true), ["object"] = new(Str, true), ["deleted"] = new(JsonValueKind.True, true) }, "deletion");

        // ErrorResponse: {"error": Error} with message, type, param and code all present.
        var refused = await Assert.ThrowsAsync<ClientResultException>(() => files.GetFileAsync("file-nope", null));
        var body = OpenAiSdk.Json(refused.GetRawResponse()!.Content);
        Assert.Equal(new[] { "error" }, body.EnumerateObject().Select(p => p.Name));
        AssertShape(body.GetProperty("error"), new Dictionary<string, Field>
        {
            ["message"] = new(Str, true), ["type"] = new(Str, true), ["param"] = new(Str), ["code"] = new(Str),
        }, "error");
        foreach (var name in new[] { "message", "type", "param", "code" })
        {
            Assert.True(body.GetProperty("error").TryGetProperty(name, out _), $"error.{name} is required (it may be null)");
        }
    }

    private static void AssertBatch(JsonElement batch)
    {
        AssertShape(batch, Batch, "batch");
        Assert.Equal("batch", batch.GetProperty("object").GetString());
        Assert.Contains(batch.GetProperty("status").GetString(), BatchStatuses);
    }

    private static void AssertList(JsonElement list, string what)
    {
        AssertShape(list, new Dictionary<string, Field>
        {
            ["object"] = new(Str, true), ["data"] = new(Arr, true), ["first_id"] = new(Str, true), ["last_id"] = new(Str, true),
            ["has_more"] = new(list.GetProperty("has_more").ValueKind is JsonValueKind.True ? JsonValueKind.True : JsonValueKind.False, true),
        }, what);
        Assert.Equal("list", list.GetProperty("object").GetString());
    }

    private static void AssertShape(JsonElement value, IReadOnlyDictionary<string, Field> schema, string what)
    {
        Assert.Equal(Obj, value.ValueKind);
        foreach (var property in value.EnumerateObject())
        {
            Assert.True(schema.ContainsKey(property.Name), $"{what}: \"{property.Name}\" is not in OpenAI's schema");
        }
        foreach (var (name, field) in schema)
        {
            if (!value.TryGetProperty(name, out var property) || property.ValueKind == JsonValueKind.Null)
            {
                Assert.False(field.Required, $"{what}: required \"{name}\" is missing or null");
                continue;
            }
            Assert.True(property.ValueKind == field.Kind, $"{what}: \"{name}\" is {property.ValueKind}, OpenAI's schema says {field.Kind}");
            if (field.Kind == Num)
            {
                Assert.True(property.TryGetInt64(out _), $"{what}: \"{name}\" must be an integer");
            }
            if (field.Properties is { } nested)
            {
                AssertShape(property, nested, $"{what}.{name}");
            }
        }
    }
}
