using System.IO.Compression;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AspireBatch.Simulator.Apis;
using AspireBatch.Simulator.Services;

namespace AspireBatch.Simulator.Tests;

public sealed class CorpusTests
{
    // The names the main suite refers to; the corpus may hold more.
    public static readonly string[] RequiredNames =
    [
        "nginx-502-html", "nginx-504-html", "cloudflare-520-html", "cloudflare-522-html", "cloudflare-524-html", "lb-503-plain",
        "empty-502", "empty-500", "openai-500-json", "openai-400-invalid", "openai-429-insufficient-quota", "azure-400-content-filter",
        "gemini-400-array", "gemini-429-array", "vllm-400", "ollama-404", "ollama-500", "status-408", "status-409", "status-413",
        "status-422", "status-499", "anthropic-529-overloaded", "refusal-200", "length-200", "content-filter-200", "empty-choices-200",
        "deepseek-reasoning-200", "no-usage-200", "usage-details-200", "error-in-200", "sse-200", "gzip-200", "plain-text-200",
    ];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ResponseCorpus Corpus => ResponseCorpus.Default;

    [Fact]
    public void Every_corpus_file_parses_with_a_source_and_the_name_of_its_file()
    {
        var assembly = typeof(ResponseCorpus).Assembly;
        var resources = assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResponseCorpus.ResourcePrefix, StringComparison.Ordinal)).ToList();
        Assert.Equal(Corpus.Entries.Count, resources.Count);

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var resource in resources)
        {
            Assert.EndsWith(".json", resource);
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var json = JsonDocument.Parse(stream);
            var root = json.RootElement;
            var name = root.GetProperty("name").GetString()!;
            Assert.Equal(resource[ResponseCorpus.ResourcePrefix.Length..^".json".Length], name);
            Assert.True(names.Add(name), $"duplicate name {name}");
            Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("provider").GetString()), name);
            Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("notes").GetString()), name);
            Assert.True(Uri.TryCreate(root.GetProperty("source").GetString(), UriKind.Absolute, out var source) && source.Scheme == "https", name);
            Assert.InRange(root.GetProperty("status").GetInt32(), 200, 599);
            Assert.Equal(JsonValueKind.Object, root.GetProperty("headers").ValueKind);
            Assert.All(root.GetProperty("headers").EnumerateObject(), h => Assert.Equal(JsonValueKind.String, h.Value.ValueKind));
            Assert.Equal(JsonValueKind.String, root.GetProperty("body").ValueKind);
            if (root.TryGetProperty("gzip", out var gzip))
            {
                Assert.True(gzip.ValueKind is JsonValueKind.True or JsonValueKind.False, name);
            }
        }

        Assert.Empty(RequiredNames.Except(names));
    }

    [Fact]
    public void Json_bodies_are_valid_JSON_once_filled()
    {
        var values = new CorpusValues("chatcmpl-x", 1_700_000_000, "gpt-4.1", "say \"hi\"\n<b>\u00e9", 12, 7);
        foreach (var entry in Corpus.Entries.Where(e => e.Headers.TryGetValue("Content-Type", out var type) && type.StartsWith("application/json", StringComparison.Ordinal)))
        {
            using var json = JsonDocument.Parse(ResponseCorpus.Fill(entry.Body, values));
            if (entry.Body.Contains("{{content}}", StringComparison.Ordinal))
            {
                Assert.Equal(values.Content, json.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            }
        }
    }

    [Fact]
    public async Task Every_entry_replays_byte_for_byte_with_its_status_and_headers()
    {
        await using var sim = await SimulatorHost.StartAsync();

        foreach (var entry in Corpus.Entries)
        {
            var content = $"Classify this review: great value [[corpus:{entry.Name}]]";
            var expected = SimulatorAnswers.Complete("gpt-4.1", [("user", content)]);

            using var response = await sim.PostChatAsync(SimulatorHost.Chat(content));

            Assert.Equal(entry.Status, (int)response.StatusCode);
            foreach (var (name, value) in entry.Headers)
            {
                // The raw values: parsed ones come back reordered (Cache-Control).
                Assert.True(
                    response.Headers.NonValidated.TryGetValues(name, out var values) || response.Content.Headers.NonValidated.TryGetValues(name, out values),
                    $"{entry.Name}: missing {name}");
                Assert.Equal(value, string.Join(",", values));
            }

            var bytes = await response.Content.ReadAsByteArrayAsync(Ct);
            Assert.Equal(bytes.Length, response.Content.Headers.ContentLength);
            if (entry.Gzip)
            {
                Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
                using var gzip = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var plain = new MemoryStream();
                await gzip.CopyToAsync(plain, Ct);
                bytes = plain.ToArray();
                using var json = JsonDocument.Parse(bytes);
                Assert.Equal(expected.Content, json.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            }
            else
            {
                Assert.Empty(response.Content.Headers.ContentEncoding);
            }

            var body = Encoding.UTF8.GetString(bytes);
            var match = TemplatePattern(entry.Body, "gpt-4.1", expected).Match(body);
            Assert.True(match.Success, $"{entry.Name}: body differs from its template:\n{body}");
            if (match.Groups["created"].Success)
            {
                Assert.InRange(long.Parse(match.Groups["created"].Value), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddMinutes(5).ToUnixTimeSeconds());
            }
        }

        var stats = await sim.GetStatsAsync();
        Assert.Equal(Corpus.Entries.Count, stats.TotalRequests);
        Assert.All(Corpus.Entries, e => Assert.Equal(1, stats.CorpusReplays[e.Name]));
        Assert.Equal(0, stats.Faults.Total); // a marker is no fault draw
    }

    [Fact]
    public async Task The_sse_entry_is_a_parsable_event_stream_whose_chunks_make_the_answer()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var content = "Summarise: \"quotes\", back\\slash and é [[corpus:sse-200]]";
        var expected = SimulatorAnswers.Complete("deepseek-chat", [("user", content)]);

        using var response = await sim.PostChatAsync(SimulatorHost.Chat(content, "deepseek-chat"));

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        var lines = (await response.Content.ReadAsStringAsync(Ct)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.StartsWith("data: ", l));
        Assert.Equal("data: [DONE]", lines[^1]);
        var chunks = lines[..^1].Select(l => JsonDocument.Parse(l["data: ".Length..]).RootElement).ToList();
        Assert.InRange(chunks.Count, 2, 3);
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        var text = string.Concat(chunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta").TryGetProperty("content", out var part) ? part.GetString() : ""));
        Assert.Equal(expected.Content, text);
        Assert.Equal("stop", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(expected.TotalTokens, chunks[^1].GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task An_unknown_marker_is_a_400_naming_the_known_entries()
    {
        await using var sim = await SimulatorHost.StartAsync();

        using var response = await sim.PostChatAsync(SimulatorHost.Chat("hi [[corpus:no-such-shape]]"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await OpenAiApiTests.ErrorOf(response);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("unknown_corpus_entry", error.GetProperty("code").GetString());
        var message = error.GetProperty("message").GetString()!;
        Assert.Contains("no-such-shape", message);
        Assert.All(RequiredNames, name => Assert.Contains(name, message));
    }

    [Fact]
    public async Task A_marker_skips_the_fault_draw_but_not_the_rate_limit_and_is_counted()
    {
        await using var sim = await SimulatorHost.StartAsync("Error500Rate=1", "RequestsPerMinute=1");
        var content = "[[corpus:usage-details-200]]";
        var expected = SimulatorAnswers.Complete("gpt-4.1", [("user", content)]);

        using (var replayed = await sim.PostChatAsync(SimulatorHost.Chat(content)))
        {
            Assert.Equal(HttpStatusCode.OK, replayed.StatusCode);
            using var json = JsonDocument.Parse(await replayed.Content.ReadAsStringAsync(Ct));
            var usage = json.RootElement.GetProperty("usage");
            Assert.Equal(expected.PromptTokens, usage.GetProperty("prompt_tokens").GetInt32());
            Assert.InRange(usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32(), 1, expected.PromptTokens - 1);
            Assert.Equal("1m0s", replayed.Headers.GetValues("x-ratelimit-reset-requests").Single());
        }

        using (var limited = await sim.PostChatAsync(SimulatorHost.Chat(content)))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.Matches(GoDuration, limited.Headers.GetValues("x-ratelimit-reset-requests").Single());
        }

        var stats = await sim.GetStatsAsync();
        Assert.Equal(2, stats.TotalRequests);
        Assert.Equal(1, stats.CorpusReplays["usage-details-200"]);
        Assert.Equal(0, stats.Faults.Total);
        Assert.Equal(expected.PromptTokens, stats.PromptTokens);
        Assert.Equal(expected.CompletionTokens, stats.CompletionTokens);
    }

    [Fact]
    public async Task CorpusRate_set_through_the_admin_API_replays_the_chosen_shapes_at_its_rate()
    {
        await using var sim = await SimulatorHost.StartAsync("Seed=99");
        using (var put = await sim.PutConfigAsync(new { corpusRate = 0.5, corpusShapes = new[] { "openai-500-json", "status-409" } }))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            var config = await put.Content.ReadFromJsonAsync<SimulatorOptions>(Ct);
            Assert.Equal(0.5, config!.CorpusRate);
            Assert.Equal(["openai-500-json", "status-409"], config.CorpusShapes);
        }

        var replays = 0;
        for (var i = 0; i < 100; i++)
        {
            using var response = await sim.PostChatAsync(SimulatorHost.Chat($"item {i}"));
            switch (response.StatusCode)
            {
                case HttpStatusCode.OK:
                    break;
                case HttpStatusCode.InternalServerError or HttpStatusCode.Conflict:
                    replays++;
                    Assert.Equal(JsonValueKind.String, (await OpenAiApiTests.ErrorOf(response)).GetProperty("message").ValueKind);
                    break;
                default:
                    Assert.Fail($"unexpected {response.StatusCode}");
                    break;
            }
        }

        Assert.InRange(replays, 35, 65); // 50 expected; +/- 3 standard deviations
        var stats = await sim.GetStatsAsync();
        Assert.Equal(100, stats.TotalRequests);
        Assert.Equal(replays, stats.Faults.Corpus);
        Assert.Equal(replays, stats.CorpusReplays.Values.Sum());
        Assert.Subset(new HashSet<string> { "openai-500-json", "status-409" }, stats.CorpusReplays.Keys.ToHashSet());
    }

    [Fact]
    public async Task CorpusRate_of_one_with_no_shapes_draws_from_every_entry()
    {
        await using var sim = await SimulatorHost.StartAsync("CorpusRate=1", "Seed=5");

        for (var i = 0; i < 20; i++)
        {
            (await sim.PostChatAsync(SimulatorHost.Chat($"item {i}"))).Dispose();
        }

        var stats = await sim.GetStatsAsync();
        Assert.Equal(20, stats.Faults.Corpus);
        Assert.True(stats.CorpusReplays.Count > 5, string.Join(",", stats.CorpusReplays.Keys));
        Assert.All(stats.CorpusReplays.Keys, name => Assert.True(Corpus.Contains(name), name));
    }

    [Fact]
    public async Task Unknown_CorpusShapes_are_a_validation_problem()
    {
        await using var sim = await SimulatorHost.StartAsync();

        using var response = await sim.PutConfigAsync(new { corpusShapes = new[] { "gzip-200", "nope" } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Contains("nope", problem.RootElement.GetProperty("errors").GetProperty("corpusShapes")[0].GetString());
    }

    [Fact]
    public async Task Admin_corpus_lists_every_entry_and_reset_zeroes_the_replay_counts()
    {
        await using var sim = await SimulatorHost.StartAsync();

        using var list = JsonDocument.Parse(await sim.Client.GetStringAsync("/admin/corpus", Ct));

        var entries = list.RootElement.EnumerateArray().ToList();
        Assert.Equal(Corpus.Entries.Select(e => e.Name), entries.Select(e => e.GetProperty("name").GetString()));
        var nginx = entries.Single(e => e.GetProperty("name").GetString() == "nginx-502-html");
        Assert.Equal("nginx", nginx.GetProperty("provider").GetString());
        Assert.Equal(502, nginx.GetProperty("status").GetInt32());
        Assert.StartsWith("https://", nginx.GetProperty("source").GetString());

        (await sim.PostChatAsync(SimulatorHost.Chat("[[corpus:nginx-502-html]]"))).Dispose();
        Assert.Equal(1, (await sim.GetStatsAsync()).CorpusReplays["nginx-502-html"]);
        (await sim.Client.PostAsync("/admin/reset", null, Ct)).Dispose();
        Assert.Empty((await sim.GetStatsAsync()).CorpusReplays);
    }

    [Theory]
    [InlineData(0, "0s")]
    [InlineData(0.2, "1ms")]
    [InlineData(20, "20ms")]
    [InlineData(999, "999ms")]
    [InlineData(1000, "1s")]
    [InlineData(1500, "1.5s")]
    [InlineData(59_999, "59.999s")]
    [InlineData(360_000, "6m0s")]
    [InlineData(3_723_000, "1h2m3s")]
    public void Reset_durations_use_OpenAIs_form(double milliseconds, string expected) =>
        Assert.Equal(expected, OpenAiApi.FormatDuration(TimeSpan.FromMilliseconds(milliseconds)));

    private static readonly Regex GoDuration = new(@"^(\d+h)?(\d+m)?(\d+(\.\d+)?s|\d+ms)$");

    /// <summary>A regex matching exactly the filled template: the answer's values literally; id and created captured (every id the same).</summary>
    private static Regex TemplatePattern(string template, string model, SimulatedCompletion completion)
    {
        var values = new CorpusValues("ID", 0, model, completion.Content, completion.PromptTokens, completion.CompletionTokens);
        var pattern = new StringBuilder("^");
        var seenId = false;
        var seenCreated = false;
        foreach (var part in Regex.Split(template, @"(\{\{(?:id|created)\}\})"))
        {
            switch (part)
            {
                case "{{id}}":
                    pattern.Append(seenId ? @"\k<id>" : "(?<id>chatcmpl-[0-9a-f]{32})");
                    seenId = true;
                    break;
                case "{{created}}":
                    pattern.Append(seenCreated ? @"\k<created>" : @"(?<created>\d+)");
                    seenCreated = true;
                    break;
                default:
                    pattern.Append(Regex.Escape(ResponseCorpus.Fill(part, values)));
                    break;
            }
        }

        return new Regex(pattern.Append(@"\z").ToString());
    }
}
