using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Simulator;

namespace AspireBatch.Tests;

/// <summary>Jobs run to completion against the simulator, one durable, correct result per record.</summary>
public sealed class JobRunTests(StackFixture stack) : IAsyncLifetime
{
    private const decimal DeepseekPrice = 0.42m;

    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    [Fact]
    public async Task A_10000_record_jsonl_job_completes_with_the_right_answer_for_every_record()
    {
        var content = JobApiClient.Jsonl(10_000, i => new { id = $"rev-{i}", text = $"review {i}: the product is {(i % 3 == 0 ? "great" : "poor")}" });
        var created = await stack.Api.CreateAsync("reviews.jsonl", content, JobApiClient.Fields("gpt-3.5-turbo"));
        Assert.Equal(10_000, created.Estimate.Items);
        Assert.True(created.Estimate.InputTokens > 0);
        Assert.Equal("deepseek-chat", created.Job.ModelName);

        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(4));
        Assert.Equal(10_000, job.Counters.Succeeded);
        await AssertAnswersAndCostsAsync(job, record => [("user", $"Classify: {record.GetProperty("text").GetString()}")]);
    }

    [Fact]
    public async Task A_10000_record_csv_job_completes_with_the_right_answer_for_every_record()
    {
        var csv = new StringBuilder("ticket_id,subject,body\n");
        for (var i = 0; i < 10_000; i++)
        {
            csv.Append($"T{i},\"Login, again\",\"Ticket {i} says \"\"help\"\"\"\n");
        }
        var created = await stack.Api.CreateAsync("tickets.csv", csv.ToString(), JobApiClient.Fields("deepseek-chat", "{{subject}} / {{body}}",
            ("idField", "ticket_id"), ("systemTemplate", "You label support tickets.")));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(4));
        Assert.Equal(10_000, job.Counters.Succeeded);
        await AssertAnswersAndCostsAsync(job, record =>
            [("system", "You label support tickets."), ("user", $"{record.GetProperty("subject").GetString()} / {record.GetProperty("body").GetString()}")]);
    }

    [Fact]
    public async Task An_openai_batch_file_runs_through_aliases_and_exports_openai_lines()
    {
        var lines = JobApiClient.Jsonl(50, i => new
        {
            custom_id = $"request-{i}",
            method = "POST",
            url = "/v1/chat/completions",
            body = new { model = "gpt-4", messages = new object[] { new { role = "user", content = $"Say {i}" } }, max_tokens = 100 },
        });
        var created = await stack.Api.CreateAsync("batch.jsonl", lines, new Dictionary<string, string?> { ["format"] = "openai-batch" });
        Assert.Equal("gpt-4.1", created.Job.ModelName);
        await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        var output = await stack.Api.ExportAsync(created.Job.Id, "openai");
        Assert.Equal(50, output.Count);
        foreach (var line in output)
        {
            var i = int.Parse(line.GetProperty("custom_id").GetString()!["request-".Length..]);
            var body = line.GetProperty("response").GetProperty("body");
            Assert.Equal(200, line.GetProperty("response").GetProperty("status_code").GetInt32());
            Assert.Equal(SimulatorAnswers.Answer("gpt-4.1", [("user", $"Say {i}")]), body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            Assert.Equal(JsonValueKind.Null, line.GetProperty("error").ValueKind);
        }
    }

    [Fact]
    public async Task Csv_export_has_the_chosen_fields_and_answers()
    {
        var content = JobApiClient.Jsonl(20, i => new { id = i, text = $"t{i}", lang = "en" });
        var created = await stack.Api.CreateAsync("small.jsonl", content, JobApiClient.Fields("deepseek"));
        await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        var csv = await stack.Api.GetStringAsync($"/api/jobs/{created.Job.Id}/export?format=csv&fields=lang,text");
        var rows = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("id,lang,text,answer,input_tokens,output_tokens,cost_usd,state,error,usage_source,in_doubt_calls,in_doubt_cost_usd", rows[0].TrimEnd('\r'));
        Assert.Equal(21, rows.Length);
        Assert.Contains(rows, r => r.StartsWith("7,en,t7,sim:", StringComparison.Ordinal));
    }

    private async Task AssertAnswersAndCostsAsync(JobDto job, Func<JsonElement, IReadOnlyList<(string, string)>> messagesOf)
    {
        var results = await stack.Api.ExportAsync(job.Id);
        Assert.Equal(job.Counters.Total, results.Count);
        Assert.Equal(results.Count, results.Select(r => r.GetProperty("id").GetString()).Distinct().Count());
        decimal sum = 0;
        foreach (var result in results)
        {
            Assert.Equal("succeeded", result.GetProperty("state").GetString());
            var expected = SimulatorAnswers.Answer("deepseek-chat", messagesOf(result.GetProperty("record")));
            Assert.Equal(expected, result.GetProperty("answer").GetString());
            var cost = result.GetProperty("cost_usd").GetDecimal();
            var tokens = result.GetProperty("input_tokens").GetInt32() + result.GetProperty("output_tokens").GetInt32();
            Assert.Equal(tokens * DeepseekPrice / 1_000_000m, cost);
            sum += cost;
        }
        Assert.Equal(sum, job.Counters.CostUsd);
        // The ledger charges exactly one attempt per item.
        var charged = await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @job AND cost_usd IS NOT NULL", ("job", job.Id));
        Assert.Equal(job.Counters.Total, charged);
    }
}
