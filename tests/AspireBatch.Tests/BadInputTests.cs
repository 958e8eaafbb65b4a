using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace AspireBatch.Tests;

/// <summary>Every bad file or request gets a clear 4xx naming the problem (and its line), and leaves nothing behind.</summary>
public sealed class BadInputTests(StackFixture stack)
{
    private static readonly Dictionary<string, string?> Records = JobApiClient.Fields("deepseek-chat");
    private static readonly Dictionary<string, string?> Batch = new() { ["format"] = "openai-batch" };

    private static string BatchLine(string customId = "a", string method = "POST", string url = "/v1/chat/completions", object? body = null, string model = "gpt-4") =>
        JsonSerializer.Serialize(new { custom_id = customId, method, url, body = body ?? new { model, messages = new[] { new { role = "user", content = "hi" } } } });

    public static TheoryData<string, string, byte[], Dictionary<string, string?>, int, string> Cases() => new()
    {
        { "malformed JSON", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n{\"id\":2,\"text\":\"b\"}\n{\"id\":3,\"text\":\n"), Records, 400, "line 3: malformed JSON" },
        { "missing id", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n{\"text\":\"b\"}\n"), Records, 400, "line 2: missing \"id\"" },
        { "duplicate id", "a.jsonl", Utf8("{\"id\":\"x\",\"text\":\"a\"}\n{\"id\":\"y\",\"text\":\"a\"}\n{\"id\":\"x\",\"text\":\"b\"}\n"), Records, 400, "line 3: duplicate id \"x\" (first seen on line 1)" },
        { "placeholder without field", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n{\"id\":2,\"body\":\"b\"}\n"), Records, 400, "line 2: no field for placeholder {{text}}" },
        { "line is not an object", "a.jsonl", Utf8("[1,2,3]\n"), Records, 400, "line 1: a line must be one JSON object" },
        { "two values on a line", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"} {\"id\":2}\n"), Records, 400, "line 1: malformed JSON" },
        { "only blank lines", "a.jsonl", Utf8("\n\n  \n"), Records, 400, "the file has no records" },
        { "empty file", "a.jsonl", [], Records, 400, "Empty file" },
        { "invalid UTF-8", "a.jsonl", [.. Utf8("{\"id\":1,\"text\":\"a\"}\n{\"id\":2,\"text\":\""), 0xC3, 0x28, .. Utf8("\"}\n")], Records, 400, "line 2: not valid UTF-8" },
        { "UTF-16 file", "a.jsonl", [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("{\"id\":1,\"text\":\"a\"}\n")], Records, 400, "UTF-16" },
        { "NUL in a record", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\\u0000b\"}\n"), Records, 400, "line 1: contains \\u0000" },
        { "line too long", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n{\"id\":2,\"text\":\"" + new string('x', 150_000) + "\"}\n"), Records, 400, "line 2 is longer than" },
        { "file too large", "a.jsonl", Utf8(string.Concat(Enumerable.Range(0, 60_000).Select(i => $"{{\"id\":{i},\"text\":\"{new string('y', 80)}\"}}\n"))), Records, 413, "larger than the limit" },
        { "unknown model", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("gpt-9"), 400, "\"gpt-9\" is not a known model, alias or route; known:" },
        { "no template", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", null), 400, "userTemplate is required" },
        { "temperature out of range", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("temperature", "5")), 400, "temperature must be between 0 and 2" },
        { "response format not JSON", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("responseFormat", "{type:")), 400, "responseFormat is not valid JSON" },
        { "metadata not an object", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("metadata", "[1]")), 400, "metadata must be a JSON object" },
        { "csv without id column", "a.csv", Utf8("key,text\n1,a\n"), Records, 400, "line 1: the header has no \"id\" column" },
        { "csv row with wrong field count", "a.csv", Utf8("id,text\n1,a\n2,b,c\n"), Records, 400, "line 3: expected 2 fields as in the header, found 3" },
        { "batch: wrong method", "b.jsonl", Utf8(BatchLine(method: "GET") + "\n"), Batch, 400, "line 1: \"method\" must be \"POST\"" },
        { "batch: unsupported url", "b.jsonl", Utf8(BatchLine() + "\n" + BatchLine("b", url: "/v1/embeddings") + "\n"), Batch, 400, "line 2: \"url\" must be \"/v1/chat/completions\"" },
        { "batch: body not an object", "b.jsonl", Utf8("{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":\"text\"}\n"), Batch, 400, "line 1: \"body\" must be a JSON object" },
        { "batch: missing custom_id", "b.jsonl", Utf8("{\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}\n"), Batch, 400, "line 1: missing \"custom_id\"" },
        { "batch: duplicate custom_id", "b.jsonl", Utf8(BatchLine("same") + "\n" + BatchLine("same") + "\n"), Batch, 400, "line 2: duplicate id \"same\"" },
        { "batch: mixed models", "b.jsonl", Utf8(BatchLine("a") + "\n" + BatchLine("b", model: "gpt-4.1") + "\n"), Batch, 400, "line 2: every line must use the same model" },
        { "batch: unknown model", "b.jsonl", Utf8(BatchLine(model: "llama-99") + "\n"), Batch, 400, "\"llama-99\" is not a known model" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Bad_input_is_refused_clearly_and_creates_nothing(string name, string fileName, byte[] content, Dictionary<string, string?> fields, int status, string expected)
    {
        var jobsBefore = await stack.ScalarAsync<long>("SELECT count(*) FROM jobs");
        var itemsBefore = await stack.ScalarAsync<long>("SELECT count(*) FROM items");

        var form = new MultipartFormDataContent { { new ByteArrayContent(content), "file", fileName } };
        foreach (var (key, value) in fields.Where(f => f.Value is not null))
        {
            form.Add(new StringContent(value!), key);
        }
        var response = await stack.Api.PostAsync("/api/jobs", form);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(status == (int)response.StatusCode, $"{name}: expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        var said = string.Join("\n", new[] { problem.RootElement.GetProperty("title").GetString(), problem.RootElement.TryGetProperty("detail", out var d) ? d.GetString() : null }
            .Concat(problem.RootElement.TryGetProperty("errors", out var errors) ? errors.EnumerateArray().Select(e => $"line {e.GetProperty("line").GetInt32()}: {e.GetProperty("message").GetString()}") : []));
        Assert.Contains(expected, said, StringComparison.Ordinal);
        Assert.Equal(jobsBefore, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs"));
        Assert.Equal(itemsBefore, await stack.ScalarAsync<long>("SELECT count(*) FROM items"));
    }

    [Fact]
    public async Task Several_bad_lines_are_all_listed_with_their_numbers()
    {
        var content = "{\"id\":1,\"text\":\"a\"}\nnot json\n{\"id\":3}\n{\"id\":1,\"text\":\"b\"}\n";
        var response = await stack.Api.PostAsync("/api/jobs", JobApiClient.Form("a.jsonl", content, Records));
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var lines = problem.RootElement.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("line").GetInt32()).ToList();
        Assert.Equal([2, 3, 4], lines);
    }

    [Fact]
    public async Task A_request_without_a_file_is_refused()
    {
        var form = new MultipartFormDataContent { { new StringContent("deepseek-chat"), "model" } };
        var response = await stack.Api.PostAsync("/api/jobs", form);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("multipart field named `file`", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_provider_with_a_bad_url_is_refused()
    {
        var response = await stack.Api.PostAsJsonAsync("/api/providers", new { name = "x", baseUrl = "ftp://nowhere", apiKey = "k" });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("baseUrl", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_route_naming_a_missing_model_is_refused()
    {
        var response = await stack.Api.PostAsJsonAsync("/api/routes", new { name = "r-bad", targets = new[] { new { provider = "sim-primary", model = "nope" } } });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("sim-primary has no model \"nope\"", problem.RootElement.GetProperty("errors").GetProperty("targets")[0].GetString());
    }

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);
}
