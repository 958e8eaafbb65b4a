using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>
/// Typed columns: fields of a JSON answer as CSV columns and JSONL fields, an items filter and a distribution over
/// them. The simulators answer classifier labels; in json_object mode as <c>{"answer": "&lt;label&gt;"}</c>.
/// </summary>
public sealed class AnswerFieldsTests(StackFixture stack) : IAsyncLifetime
{
    private static readonly string[] Labels = ["positive", "negative", "neutral"];

    public async ValueTask InitializeAsync()
    {
        await stack.ResetSimulatorsAsync();
        foreach (var simulator in new[] { stack.SimPrimary, stack.SimFallback })
        {
            (await simulator.PutAsJsonAsync("/admin/config", new { labels = Labels })).EnsureSuccessStatusCode();
        }
    }

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    private async Task<JobDto> RunAsync(string prefix, int count, string? responseFormat)
    {
        var created = await stack.Api.CreateAsync($"{prefix}.jsonl", JobApiClient.Jsonl(count, i => new { id = $"{prefix}{i}", text = $"{prefix} review {i}" }),
            JobApiClient.Fields("deepseek-chat", more: ("responseFormat", responseFormat)));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal((count, 0), (job.Counters.Succeeded, job.Counters.Failed));
        return job;
    }

    private static List<string[]> Csv(string text)
    {
        // The cells here hold no commas, quotes or newlines: a plain split reads them.
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r').Split(',')).ToList();
    }

    [Fact]
    public async Task Answer_fields_become_csv_columns_and_jsonl_fields_and_the_distribution_counts_them()
    {
        var job = await RunAsync("af", 60, """{"type":"json_object"}""");

        var csv = Csv(await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=csv&fields=text,answer.answer,answer.missing"));
        Assert.Equal(["id", "text", "answer.answer", "answer.missing", "answer"], csv[0][..5]);
        var rows = csv.Skip(1).ToList();
        Assert.Equal(60, rows.Count);
        foreach (var row in rows)
        {
            Assert.Contains(row[2], Labels);
            Assert.Equal("", row[3]);
        }

        var lines = (await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=jsonl&fields=answer.answer,answer.missing"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
        Assert.Equal(60, lines.Count);
        var fromJsonl = new Dictionary<string, string>();
        foreach (var line in lines)
        {
            var fields = line.GetProperty("answer_fields");
            var label = fields.GetProperty("answer").GetString()!;
            Assert.Equal(JsonValueKind.Null, fields.GetProperty("missing").ValueKind);
            Assert.Equal(label, JsonDocument.Parse(line.GetProperty("answer").GetString()!).RootElement.GetProperty("answer").GetString());
            fromJsonl[line.GetProperty("id").GetString()!] = label;
        }
        Assert.Equal(rows.ToDictionary(r => r[0], r => r[2]), fromJsonl);

        // Without fields the JSONL line has no answer_fields.
        Assert.All(await stack.Api.ExportAsync(job.Id), l => Assert.False(l.TryGetProperty("answer_fields", out _)));

        // The distribution equals what the export says, computed in SQL.
        var expected = rows.GroupBy(r => r[2]).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.True(expected.Count >= 2, "the simulator should have given several labels");
        var distribution = (await stack.Api.GetFromJsonAsync<FieldDistribution>($"/api/jobs/{job.Id}/fields/answer.answer/distribution", StackFixture.Json))!;
        Assert.Equal("answer.answer", distribution.Field);
        Assert.Equal(expected, distribution.Values.ToDictionary(v => v.Value, v => v.Count));
        Assert.Equal((0L, 0L), (distribution.Other, distribution.Missing));
        Assert.Equal(distribution.Values.OrderByDescending(v => v.Count).Select(v => v.Count), distribution.Values.Select(v => v.Count));

        // The items filter finds exactly the items with that label.
        var (label0, count0) = expected.First();
        var items = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>(
            $"/api/jobs/{job.Id}/items?field=answer.answer&value={label0}&pageSize=1000", StackFixture.Json))!;
        Assert.Equal(count0, items.TotalCount);
        Assert.Equal(rows.Where(r => r[2] == label0).Select(r => r[0]).Order(), items.Items.Select(i => i.CustomId).Order());
        var none = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Id}/items?field=answer.answer&value=nope", StackFixture.Json))!;
        Assert.Equal(0, none.TotalCount);
        Assert.Empty(none.Items);
    }

    [Fact]
    public async Task Answers_that_are_not_json_give_empty_cells_and_are_not_counted()
    {
        // Without a response format the simulator answers the bare label: not JSON.
        var job = await RunAsync("nj", 20, null);

        var csv = Csv(await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=csv&fields=answer.answer"));
        Assert.Equal(["id", "answer.answer", "answer"], csv[0][..3]);
        Assert.All(csv.Skip(1), row =>
        {
            Assert.Equal("", row[1]);
            Assert.Contains(row[2], Labels);
        });
        var lines = await stack.Api.GetStringAsync($"/api/jobs/{job.Id}/export?format=jsonl&fields=answer.answer");
        Assert.All(lines.Split('\n', StringSplitOptions.RemoveEmptyEntries), l =>
            Assert.Equal(JsonValueKind.Null, JsonDocument.Parse(l).RootElement.GetProperty("answer_fields").GetProperty("answer").ValueKind));

        var distribution = (await stack.Api.GetFromJsonAsync<FieldDistribution>($"/api/jobs/{job.Id}/fields/answer.answer/distribution", StackFixture.Json))!;
        Assert.Empty(distribution.Values);
        Assert.Equal((0L, 20L), (distribution.Other, distribution.Missing));
        var items = (await stack.Api.GetFromJsonAsync<PagedResult<ItemSummaryDto>>($"/api/jobs/{job.Id}/items?field=answer.answer&value=positive", StackFixture.Json))!;
        Assert.Equal(0, items.TotalCount);
    }

    [Theory]
    [InlineData("{\"sentiment\": \"positive\"}", "positive")]
    [InlineData("```json\n{\"sentiment\": \"negative\"}\n```", "negative")]
    [InlineData("  ```\n{\"sentiment\": 3}\n```\n", "3")]
    [InlineData("positive", "")]
    [InlineData("{\"sentiment\": ", "")]
    [InlineData("42", "")]
    [InlineData("```{\"sentiment\": \"x\"}```", "")]
    public async Task Try_jsonb_reads_answers_as_the_exports_do(string answer, string expected) =>
        // The same cases as the Api's unit tests of AnswerFields: the SQL and the C# reading agree.
        Assert.Equal(expected, await stack.ScalarAsync<string>("SELECT coalesce(try_jsonb(@answer) #>> '{sentiment}', '')", ("answer", answer)));

    [Fact]
    public async Task The_preview_shows_the_fields_a_json_schema_declares()
    {
        const string format = """
            {"type":"json_schema","json_schema":{"name":"review","schema":{"type":"object","required":["sentiment","topics"],
             "properties":{"sentiment":{"type":"string","enum":["positive","negative"]},"topics":{"type":"array","items":{"type":"string"}}}}}}
            """;
        var response = await stack.Api.PostAsync("/api/jobs/preview",
            JobApiClient.Form("p.jsonl", JobApiClient.Jsonl(2, i => new { id = i, text = "p" }), JobApiClient.Fields("deepseek-chat", more: ("responseFormat", format))));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        var preview = JsonSerializer.Deserialize<TemplatePreview>(body, StackFixture.Json)!;
        Assert.Equal([new AnswerFieldDto("answer.sentiment", "sentiment", "string"), new AnswerFieldDto("answer.topics", "topics", "array")], preview.AnswerFields!);
    }
}
