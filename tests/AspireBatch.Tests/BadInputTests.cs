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
        { "batch: unsupported url", "b.jsonl", Utf8(BatchLine() + "\n" + BatchLine("b", url: "/v1/responses") + "\n"), Batch, 400, "line 2: \"url\" must be \"/v1/chat/completions\" or \"/v1/embeddings\"" },
        { "batch: body not an object", "b.jsonl", Utf8("{\"custom_id\":\"a\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":\"text\"}\n"), Batch, 400, "line 1: \"body\" must be a JSON object" },
        { "batch: missing custom_id", "b.jsonl", Utf8("{\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}\n"), Batch, 400, "line 1: missing \"custom_id\"" },
        { "batch: duplicate custom_id", "b.jsonl", Utf8(BatchLine("same") + "\n" + BatchLine("same") + "\n"), Batch, 400, "line 2: duplicate id \"same\"" },
        { "batch: mixed models", "b.jsonl", Utf8(BatchLine("a") + "\n" + BatchLine("b", model: "gpt-4.1") + "\n"), Batch, 400, "line 2: every line must use the same model" },
        { "batch: unknown model", "b.jsonl", Utf8(BatchLine(model: "llama-99") + "\n"), Batch, 400, "\"llama-99\" is not a known model" },

        // Strict CSV: quote problems stop the import on the line they start on.
        { "csv: unclosed quote swallowing the rest of the file", "a.csv", Utf8("id,text\n1,\"abc\n2,def\n3,ghi\n"), Records, 400, "line 2: a quoted field opens here and is never closed" },
        { "csv: unclosed quote on a later record", "a.csv", Utf8("id,text\n1,a\n2,\"b\n3,c\n"), Records, 400, "line 3: a quoted field opens here and is never closed" },
        { "csv: quote closed on a later line, then text", "a.csv", Utf8("id,text\n1,\"abc\n2,\"def\"\n"), Records, 400, "line 2: a quoted field opens here and closes on line 3" },
        { "csv: stray quote in an unquoted field", "a.csv", Utf8("id,text\n1,a\n2,ab\"c\n"), Records, 400, "line 3: a quote inside a field that does not start with one (ab\"c)" },
        { "csv: text after a closing quote", "a.csv", Utf8("id,text\n1,\"ab\"c\n"), Records, 400, "line 2: text after the closing quote of a field (\"ab\"c)" },
        { "csv: wrong field count after a quoted newline", "a.csv", Utf8("id,text\n1,\"a\nb\"\n2,b,c\n"), Records, 400, "line 4: expected 2 fields as in the header, found 3" },
        { "csv: header mixes delimiters", "a.csv", Utf8("id;text,more\n1;a,b\n"), Records, 400, "line 1: the header mixes delimiters (semicolon and comma)" },
        { "csv: header names a column twice", "a.csv", Utf8("id,text,text\n1,a,b\n"), Records, 400, "line 1: the header names column \"text\" twice" },
        { "csv: header column without a name", "a.csv", Utf8("id,,text\n1,a,b\n"), Records, 400, "line 1: column 2 of the header has no name" },
        { "csv: idField names a missing column", "a.csv", Utf8("id,text\n1,a\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("idField", "key")), 400, "line 1: the header has no \"key\" column" },
        { "csv: empty id", "a.csv", Utf8("id,text\n1,a\n ,b\n"), Records, 400, "line 3: missing \"id\"" },
        { "csv: duplicate ids", "a.csv", Utf8("id;text\n1;a\n1;b\n"), Records, 400, "line 3: duplicate id \"1\" (first seen on line 2)" },
        { "csv: placeholder without a column", "a.csv", Utf8("id,body\n1,a\n"), Records, 400, "line 2: no field for placeholder {{text}}" },
        { "csv: invalid UTF-8", "a.csv", [.. Utf8("id,text\n1,a\n2,"), 0xC3, 0x28, .. Utf8("\n")], Records, 400, "line 3 is not valid UTF-8" },
        { "csv: UTF-16 file", "a.csv", [.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("id,text\n1,a\n")], Records, 400, "UTF-16" },
        { "csv: line too long", "a.csv", Utf8("id,text\n1," + new string('x', 150_000) + "\n"), Records, 400, "line 2 is longer than" },
        { "csv: only a header", "a.csv", Utf8("\uFEFFid,text\r\n\r\n"), Records, 400, "the file has no records" },
        { "csv: empty file", "a.csv", [], Records, 400, "Empty file" },

        // JSONL ids.
        { "id neither a string nor a number", "a.jsonl", Utf8("{\"id\":true,\"text\":\"a\"}\n"), Records, 400, "line 1: missing \"id\"" },
        { "id only whitespace", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n{\"id\":\"  \",\"text\":\"b\"}\n"), Records, 400, "line 2: missing \"id\"" },
        { "id longer than 512 characters", "a.jsonl", Utf8($"{{\"id\":\"{new string('i', 513)}\",\"text\":\"a\"}}\n"), Records, 400, "line 1: the id is longer than 512 characters" },
        { "idField names a missing field", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("idField", "key")), 400, "line 1: missing \"key\"" },

        // Form parameters.
        { "no model", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("", "{{text}}"), 400, "model is required" },
        { "unknown model for a csv", "a.csv", Utf8("id,text\n1,a\n"), JobApiClient.Fields("no-such-route"), 400, "\"no-such-route\" is not a known model, alias or route" },
        { "temperature below 0", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("temperature", "-0.1")), 400, "temperature must be between 0 and 2" },
        { "maxTokens zero", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("maxTokens", "0")), 400, "maxTokens must be between 1 and 1,000,000" },
        { "maxTokens too large", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("maxTokens", "1000001")), 400, "maxTokens must be between 1 and 1,000,000" },
        { "budget zero", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("budgetUsd", "0")), 400, "budgetUsd must be positive" },
        { "budget negative", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("budgetUsd", "-5")), 400, "budgetUsd must be positive" },
        { "response format not an object", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("responseFormat", "\"json\"")), 400, "responseFormat must be a JSON object" },
        { "metadata not JSON", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("metadata", "{a:1}")), 400, "metadata is not valid JSON" },
        { "several bad parameters", "a.jsonl", Utf8("{\"id\":1,\"text\":\"a\"}\n"), JobApiClient.Fields("deepseek-chat", "{{text}}", ("temperature", "3"), ("maxTokens", "-1")), 400, "maxTokens must be between 1 and 1,000,000" },

        // OpenAI batch lines the importer could not measure (they answered 500 before).
        { "batch: message not an object", "b.jsonl", Utf8(BatchLine(body: new { model = "gpt-4", messages = new[] { 1 } }) + "\n"), Batch, 400, "line 1: \"body.messages[0]\" must be an object" },
        { "batch: content part not an object", "b.jsonl", Utf8(BatchLine() + "\n" + BatchLine("b", body: new { model = "gpt-4", messages = new[] { new { role = "user", content = new[] { "hi" } } } }) + "\n"), Batch, 400, "line 2: \"body.messages[0]\" has a content part that is not an object" },
        { "batch: max_tokens a string", "b.jsonl", Utf8(BatchLine(body: new { model = "gpt-4", max_tokens = "100", messages = new[] { new { role = "user", content = "hi" } } }) + "\n"), Batch, 400, "line 1: \"body.max_tokens\" must be an integer between 1 and 1,000,000" },
        { "batch: message without role", "b.jsonl", Utf8(BatchLine(body: new { model = "gpt-4", messages = new[] { new { content = "hi" } } }) + "\n"), Batch, 400, "line 1: \"body.messages[0]\" needs a \"role\"" },
        { "batch: no messages", "b.jsonl", Utf8(BatchLine(body: new { model = "gpt-4", messages = Array.Empty<object>() }) + "\n"), Batch, 400, "line 1: \"body.messages\" must be a non-empty array" },
        { "batch: no model in body", "b.jsonl", Utf8(BatchLine(body: new { messages = new[] { new { role = "user", content = "hi" } } }) + "\n"), Batch, 400, "line 1: \"body.model\" must be a non-empty string" },
        { "batch: malformed line", "b.jsonl", Utf8(BatchLine() + "\n{\"custom_id\":\n"), Batch, 400, "line 2: malformed JSON" },
        { "batch: custom_id longer than 512 characters", "b.jsonl", Utf8(BatchLine(new string('c', 513)) + "\n"), Batch, 400, "line 1: the id is longer than 512 characters" },
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
    public async Task A_bad_csv_is_refused_by_preview_too()
    {
        var jobsBefore = await stack.ScalarAsync<long>("SELECT count(*) FROM jobs");
        var response = await stack.Api.PostAsync("/api/jobs/preview", JobApiClient.Form("a.csv", "id,text\n1,a\n2,\"b\n3,c\n", Records));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(3, problem.RootElement.GetProperty("errors")[0].GetProperty("line").GetInt32());
        Assert.StartsWith("line 3: a quoted field opens here and is never closed", problem.RootElement.GetProperty("detail").GetString());
        Assert.Equal(jobsBefore, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs"));
    }

    [Fact]
    public async Task A_good_csv_with_bom_semicolons_and_quoted_newlines_keeps_each_record_and_its_line()
    {
        var content = "\uFEFFid;text\r\n1;\"first\r\nsecond; still one field\"\r\n\r\n2;\"she said \"\"hi\"\"\"\r\n3;plain\r\n";
        var created = await stack.Api.CreateAsync("a.csv", content, JobApiClient.Fields("deepseek-chat", more: ("startPaused", "true")));
        Assert.Equal(3, created.Estimate.Items);
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT line_number, custom_id, payload->>'text' FROM items WHERE job_id = @id ORDER BY line_number", connection);
        command.Parameters.AddWithValue("id", created.Job.Id);
        var items = new List<(int, string, string)>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                items.Add((reader.GetInt32(0), reader.GetString(1), reader.GetString(2)));
            }
        }
        Assert.Equal([(2, "1", "first\nsecond; still one field"), (5, "2", "she said \"hi\""), (6, "3", "plain")], items);
        (await stack.Api.PostAsync($"/api/jobs/{created.Job.Id}/cancel", null)).EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task An_unknown_format_name_is_refused()
    {
        var jobsBefore = await stack.ScalarAsync<long>("SELECT count(*) FROM jobs");
        var response = await stack.Api.PostAsync("/api/jobs", JobApiClient.Form("a.jsonl", "{\"id\":1,\"text\":\"a\"}\n", JobApiClient.Fields("deepseek-chat", more: ("format", "xml"))));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("format", await response.Content.ReadAsStringAsync());
        Assert.Equal(jobsBefore, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs"));
    }

    [Theory]
    [InlineData("temperature", "hot")]
    [InlineData("maxTokens", "many")]
    [InlineData("budgetUsd", "ten dollars")]
    [InlineData("dedup", "maybe")]
    public async Task A_form_value_of_the_wrong_type_is_refused(string field, string value)
    {
        var jobsBefore = await stack.ScalarAsync<long>("SELECT count(*) FROM jobs");
        var response = await stack.Api.PostAsync("/api/jobs", JobApiClient.Form("a.jsonl", "{\"id\":1,\"text\":\"a\"}\n", JobApiClient.Fields("deepseek-chat", more: (field, value))));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{field}={value}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(jobsBefore, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs"));
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
