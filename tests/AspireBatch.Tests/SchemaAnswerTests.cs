using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;

namespace AspireBatch.Tests;

/// <summary>
/// Answers checked against the job's JSON schema on the real stack: valid answers pass untouched, broken ones are asked
/// again (each a paid attempt in the ledger), records whose answers never pass fail schema_invalid with their last answer,
/// and a schema that is not one is refused at import.
/// </summary>
public sealed class SchemaAnswerTests(StackFixture stack) : IAsyncLifetime
{
    private const string Schema = """
        {"type":"object","additionalProperties":false,"required":["sentiment","confidence","topics"],
         "properties":{"sentiment":{"type":"string","enum":["positive","negative"]},
                       "confidence":{"type":"number","minimum":0,"maximum":1},
                       "topics":{"type":"array","items":{"type":"string"}}}}
        """;

    private static readonly string ResponseFormat =
        $$$"""{"type":"json_schema","json_schema":{"name":"review","strict":true,"schema":{{{Schema}}}}}""";

    private static readonly AnswerSchema Checker = AnswerSchema.FromResponseFormat(JsonDocument.Parse(ResponseFormat).RootElement).Schema!;

    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task Schema_answers_that_conform_pass_without_reasks()
    {
        var route = await OwnRouteAsync("schema-ok");
        var job = await RunAsync(route, 20);
        Assert.Equal(20, job.Counters.Succeeded);
        Assert.All(await ItemsAsync(job.Id), item => Assert.True(Checker.Check(item.Text).IsValid, item.Text));
        Assert.Equal(0L, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'schema_invalid'", ("job", job.Id)));
        Assert.Equal(20L, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job", ("job", job.Id)));
    }

    [Fact]
    public async Task Broken_answers_are_asked_again_and_every_reask_is_paid_in_the_ledger()
    {
        await Configure(new { schemaViolationRate = 0.3, seed = 17 });
        var route = await OwnRouteAsync("schema-reask");
        var job = await RunAsync(route, 40);
        Assert.Equal(40, job.Counters.Succeeded);
        Assert.All(await ItemsAsync(job.Id), item => Assert.True(Checker.Check(item.Text).IsValid, item.Text));

        var reasked = await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'schema_invalid'", ("job", job.Id));
        Assert.InRange(reasked, 1, 39);
        // Every broken answer was charged, and the job's cost is the sum of every attempt, re-asks included.
        Assert.Equal(0L, await stack.ScalarAsync<long>(
            "SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'schema_invalid' AND NOT (cost_usd > 0)", ("job", job.Id)));
        Assert.Equal(40 + reasked, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job", ("job", job.Id)));
        var ledger = await stack.ScalarAsync<decimal>("SELECT coalesce(sum(cost_usd), 0) FROM attempts WHERE job_id = @job", ("job", job.Id));
        Assert.Equal(ledger, job.Counters.CostUsd);
        var reaskCost = await stack.ScalarAsync<decimal>(
            "SELECT coalesce(sum(cost_usd), 0) FROM attempts WHERE job_id = @job AND error_code = 'schema_invalid'", ("job", job.Id));
        Assert.True(reaskCost > 0 && reaskCost < job.Counters.CostUsd);
        // A re-ask states the errors in the ledger with their JSON pointers.
        var message = await stack.ScalarAsync<string>(
            "SELECT error_message FROM attempts WHERE job_id = @job AND error_code = 'schema_invalid' LIMIT 1", ("job", job.Id));
        Assert.Contains(": ", message);
    }

    [Fact]
    public async Task Records_whose_answers_never_conform_fail_schema_invalid_with_their_last_answer()
    {
        await Configure(new { schemaViolationRate = 1.0, schemaViolationOnReask = true, seed = 3 });
        var route = await OwnRouteAsync("schema-never");
        var job = await RunAsync(route, 10);
        Assert.Equal(10, job.Counters.Failed);
        foreach (var item in await ItemsAsync(job.Id))
        {
            Assert.Equal(LedgerCodes.SchemaInvalid, item.ErrorCode);
            Assert.False(string.IsNullOrEmpty(item.Text));
            Assert.False(Checker.Check(item.Text).IsValid);
            Assert.Contains("did not follow the JSON schema after 3 tries", item.ErrorMessage);
            Assert.Equal(3, item.Attempts); // the first answer and MaxSchemaReasks (2) re-asks
        }
        Assert.Equal(30L, await stack.ScalarAsync<long>(
            "SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'schema_invalid' AND cost_usd > 0", ("job", job.Id)));
        Assert.Equal(await stack.ScalarAsync<decimal>("SELECT sum(cost_usd) FROM attempts WHERE job_id = @job", ("job", job.Id)), job.Counters.CostUsd);
    }

    [Fact]
    public async Task An_invalid_schema_is_refused_at_import_and_creates_nothing()
    {
        var jobsBefore = await stack.ScalarAsync<long>("SELECT count(*) FROM jobs");
        var fields = JobApiClient.Fields("deepseek-chat", "Review: {{text}}",
            ("responseFormat", """{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"strin"}}}"""));
        var response = await stack.Api.PostAsync("/api/jobs", JobApiClient.Form("r.jsonl", JobApiClient.Jsonl(3, i => new { id = i, text = "t" }), fields));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("responseFormat: json_schema.schema is not a valid JSON Schema", body);

        // A batch line with a broken schema is refused with its line number.
        var lines = JobApiClient.Jsonl(3, i => new
        {
            custom_id = $"r{i}", method = "POST", url = "/v1/chat/completions",
            body = new
            {
                model = "gpt-4", messages = new[] { new { role = "user", content = "x" } },
                response_format = i == 1 ? (object)new { type = "json_schema", json_schema = new { name = "x" } } : new { type = "text" },
            },
        });
        response = await stack.Api.PostAsync("/api/jobs", JobApiClient.Form("b.jsonl", lines, new Dictionary<string, string?> { ["format"] = "openai-batch" }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = Assert.Single(problem.RootElement.GetProperty("errors").EnumerateArray().ToList());
        Assert.Equal(2, error.GetProperty("line").GetInt32());
        Assert.Contains("body.response_format", error.GetProperty("message").GetString());
        Assert.Equal(jobsBefore, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs"));
    }

    [Fact]
    public async Task An_openai_batch_line_with_a_json_schema_is_checked_and_reasked_too()
    {
        await Configure(new { schemaViolationRate = 0.5, seed = 23 }, stack.SimPrimary);
        await Configure(new { schemaViolationRate = 0.5, seed = 23 }, stack.SimFallback);
        var format = JsonDocument.Parse(ResponseFormat).RootElement;
        var lines = JobApiClient.Jsonl(20, i => new
        {
            custom_id = $"b{i}", method = "POST", url = "/v1/chat/completions",
            body = new { model = "gpt-4", messages = new[] { new { role = "user", content = $"Review {i}" } }, response_format = format },
        });
        var created = await stack.Api.CreateAsync("schema-batch.jsonl", lines, new Dictionary<string, string?> { ["format"] = "openai-batch" });
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(20, job.Counters.Succeeded);
        foreach (var line in await stack.Api.ExportAsync(job.Id, "openai"))
        {
            var content = line.GetProperty("response").GetProperty("body").GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
            Assert.True(Checker.Check(content).IsValid, content);
        }
        Assert.True(await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND error_code = 'schema_invalid'", ("job", job.Id)) > 0);
    }

    private sealed record ItemRow(string? Text, string? ErrorCode, string? ErrorMessage, int Attempts);

    private async Task<List<ItemRow>> ItemsAsync(Guid jobId)
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT response_text, error_code, error_message, attempts FROM items WHERE job_id = @job", connection);
        command.Parameters.AddWithValue("job", jobId);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<ItemRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new ItemRow(reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1),
                reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt32(3)));
        }
        return rows;
    }

    private async Task<JobDto> RunAsync(RouteDto route, int records)
    {
        var fields = JobApiClient.Fields(route.Name, "Review: {{text}}", ("responseFormat", ResponseFormat));
        var created = await stack.Api.CreateAsync("schema.jsonl", JobApiClient.Jsonl(records, i => new { id = i, text = $"review {i} {Guid.NewGuid():N}" }), fields);
        return await stack.Api.WaitForAsync(created.Job.Id, j => j.State is JobState.Completed or JobState.Failed, TimeSpan.FromMinutes(2));
    }

    /// <summary>A provider of its own on sim-primary, alone on a route: a circuit or limit another test left cannot send the records elsewhere.</summary>
    private async Task<RouteDto> OwnRouteAsync(string prefix)
    {
        var suffix = Guid.NewGuid().ToString("N")[..6];
        var response = await stack.Api.PostAsJsonAsync("/api/providers",
            new ProviderRequest($"{prefix}-{suffix}", stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/') + "/v1", StackFixture.SimulatorKey));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        var provider = (await response.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 0.42m, 0.42m))).EnsureSuccessStatusCode();
        response = await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest($"{prefix}-{suffix}", [new RouteTargetRequest(provider.Name, "deepseek-chat")], null));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<RouteDto>(StackFixture.Json))!;
    }

    private async Task Configure(object settings, HttpClient? simulator = null) =>
        (await (simulator ?? stack.SimPrimary).PutAsJsonAsync("/admin/config", settings)).EnsureSuccessStatusCode();
}
