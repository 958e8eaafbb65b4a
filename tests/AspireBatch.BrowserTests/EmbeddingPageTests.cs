using System.Text;
using System.Text.RegularExpressions;
using AspireBatch.Contracts;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace AspireBatch.BrowserTests;

/// <summary>
/// An embeddings job made on the New job page (endpoint, dimensions, response cache), its vectors in the item drawer,
/// and a second job answered by the response cache, as the page shows them.
/// </summary>
public sealed class EmbeddingPageTests(BrowserStackFixture stack) : BrowserTest(stack)
{
    private static readonly Regex JobDetailUrl = new("/jobs/(?<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$");

    private ILocator FileInput => Page.Locator("input[type=file][data-testid=file-input], [data-testid=file-input] input[type=file]").First;

    private async Task<Guid> CreateEmbeddingsJobAsync(string content)
    {
        await SignedInAtAsync("/jobs/new");
        await Page.Locator("[data-testid=new-job-form][data-ready=true]").WaitForAsync();
        await FileInput.SetInputFilesAsync(new FilePayload { Name = "docs.jsonl", MimeType = "application/x-ndjson", Buffer = Encoding.UTF8.GetBytes(content) });
        await Expect(Id("upload-progress")).ToHaveAttributeAsync("data-percent", "100");
        await Field("model-select").FillAsync("text-embedding-3-small");
        // Closes the model field's suggestions, which cover the fields below it.
        await Field("model-select").PressAsync("Escape");
        await Field("model-select").PressAsync("Tab");
        // A string select renders no text input of its own: open it by its box.
        await Id("endpoint-select").First.ClickAsync();
        await Page.Locator(".mud-popover-open .mud-list-item").Filter(new() { HasText = "Embeddings" }).First.ClickAsync();
        await Expect(Field("dimensions")).ToBeVisibleAsync();
        await Field("dimensions").FillAsync("24");
        await Field("dimensions").PressAsync("Tab");
        await Field("cache-hours").FillAsync("1");
        await Field("cache-hours").PressAsync("Tab");
        await Id("submit-button").ClickAsync();
        await Page.WaitForURLAsync(JobDetailUrl);
        await Expect(Id("job-state")).ToHaveAttributeAsync("data-state", "completed", new() { Timeout = (float)JobTimeout.TotalMilliseconds });
        return Guid.Parse(JobDetailUrl.Match(Page.Url).Groups["id"].Value);
    }

    [Fact]
    public async Task An_embeddings_job_shows_its_vectors_and_a_second_one_is_answered_by_the_cache()
    {
        var prefix = Guid.NewGuid().ToString("N")[..8];
        var content = string.Join("\n", Enumerable.Range(0, 10).Select(i => $$"""{"id":"d{{i}}","input":"{{prefix}} document {{i}}"}""")) + "\n";

        var first = await CreateEmbeddingsJobAsync(content);
        await Expect(Id("job-endpoint")).ToHaveTextAsync("/v1/embeddings · 24 dimensions");
        await Expect(Id("job-cache")).ToContainTextAsync("on, answers up to");
        await Expect(Id("counter-succeeded")).ToHaveTextAsync("10");
        await Page.Locator("[data-testid=item-row][data-state=succeeded]").First.ClickAsync();
        await Expect(Id("item-embedding")).ToContainTextAsync("1 vector of 24 values · norm 1.000");
        await Expect(Id("item-embedding-head")).ToHaveTextAsync(new Regex(@"^\[(-?\d\.\d{4}, ){8}…\]$"));
        await Expect(Id("item-request")).ToContainTextAsync($"{prefix} document");
        await ScreenshotAsync("embeddings-item-drawer");

        var second = await CreateEmbeddingsJobAsync(content);
        Assert.NotEqual(first, second);
        await Expect(Id("counter-cached")).ToHaveTextAsync("10 answered by earlier jobs");
        await Page.Locator("[data-testid=item-row][data-state=succeeded]").First.ClickAsync();
        await Expect(Id("answered-from-cache")).ToBeVisibleAsync();
        await Expect(Id("lineage-cached-from")).ToContainTextAsync($"job {first}");
        await Expect(Id("item-embedding")).ToContainTextAsync("24 values");
        await ScreenshotAsync("embeddings-cached-job");

        var job = await Stack.GetJobAsync(second);
        Assert.Equal((JobEndpoint.Embeddings, 10, 0m), (job.Endpoint, job.CachedItems, job.Counters.CostUsd));
    }
}
