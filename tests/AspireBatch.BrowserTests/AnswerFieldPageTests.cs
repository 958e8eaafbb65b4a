using System.Net.Http.Json;
using AspireBatch.Contracts;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

/// <summary>The job page charts a label field of the answers and filters the items grid by its value.</summary>
public sealed class AnswerFieldPageTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    private const string Schema = """
        {"type":"json_schema","json_schema":{"name":"review","strict":true,"schema":{"type":"object","required":["sentiment"],"additionalProperties":false,
         "properties":{"sentiment":{"type":"string","enum":["positive","negative","neutral"]}}}}}
        """;

    [Fact]
    public async Task The_label_chart_defaults_to_the_schemas_first_string_field_and_the_grid_filters_by_a_value()
    {
        const int records = 20;
        var created = await Stack.CreateJobAsync("labels.jsonl", BrowserStackFixture.Jsonl(records, "lf"), "deepseek-chat", responseFormat: Schema);
        var job = await Stack.WaitForJobAsync(created.Job.Id, j => j.State == JobState.Completed, JobTimeout);
        Assert.Equal(records, job.Counters.Succeeded);
        var distribution = (await Stack.Api.GetFromJsonAsync<FieldDistribution>($"/api/jobs/{job.Id}/fields/answer.sentiment/distribution", BrowserStackFixture.Json))!;
        Assert.Equal(records, distribution.Values.Sum(v => v.Count));

        await SignedInAtAsync($"/jobs/{job.Id}");
        await Expect(Field("label-field")).ToHaveValueAsync("answer.sentiment");
        await Expect(Id("label-distribution-summary")).ToContainTextAsync($"{records} in the top {distribution.Values.Count} values");
        await Expect(Id("label-distribution").Locator("svg").First).ToBeVisibleAsync();
        await Expect(Field("export-fields")).ToHaveValueAsync("answer.sentiment");
        await ScreenshotAsync("job-label-distribution");

        var (value, count) = (distribution.Values[0].Value, distribution.Values[0].Count);
        await Field("items-filter-field").FillAsync("answer.sentiment");
        await Field("items-filter-value").FillAsync(value);
        await Expect(Id("item-row")).ToHaveCountAsync((int)count);
        Assert.Empty(await ErrorSnackbarsAsync());
    }
}
