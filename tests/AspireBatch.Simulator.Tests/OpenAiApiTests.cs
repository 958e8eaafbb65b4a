using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace AspireBatch.Simulator.Tests;

public sealed class OpenAiApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Models_lists_the_configured_models_in_the_OpenAI_shape()
    {
        await using var sim = await SimulatorHost.StartAsync();

        using var json = JsonDocument.Parse(await sim.Client.GetStringAsync("/v1/models", Ct));

        Assert.Equal("list", json.RootElement.GetProperty("object").GetString());
        var data = json.RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["deepseek-chat", "gpt-4.1", "claude-sonnet-4-5", "gemini-2.5-flash", "text-embedding-3-small"], data.Select(m => m.GetProperty("id").GetString()));
        Assert.All(data, m =>
        {
            Assert.Equal("model", m.GetProperty("object").GetString());
            Assert.Equal("simulator", m.GetProperty("owned_by").GetString());
            Assert.True(m.GetProperty("created").GetInt64() > 0);
        });
    }

    [Fact]
    public async Task Chat_completion_has_the_OpenAI_shape_and_the_deterministic_answer()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var body = new
        {
            model = "claude-sonnet-4-5",
            messages = new[]
            {
                new { role = "system", content = "You classify support tickets." },
                new { role = "user", content = "My order #1234 never arrived, and support has not answered for a week!" },
            },
        };

        using var response = await sim.PostChatAsync(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var root = json.RootElement;
        Assert.StartsWith("chatcmpl-", root.GetProperty("id").GetString());
        Assert.Equal("chat.completion", root.GetProperty("object").GetString());
        Assert.InRange(root.GetProperty("created").GetInt64(), DateTimeOffset.UtcNow.AddDays(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.AddDays(1).ToUnixTimeSeconds());
        Assert.Equal("claude-sonnet-4-5", root.GetProperty("model").GetString());
        var choice = Assert.Single(root.GetProperty("choices").EnumerateArray().ToList());
        Assert.Equal(0, choice.GetProperty("index").GetInt32());
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());

        var expected = SimulatorAnswers.Answer(body.model, [.. body.messages.Select(m => (m.role, m.content))]);
        Assert.Equal(expected, choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("sim:", expected[..4]);
        Assert.EndsWith(" My order #1234 never arrived, and support has no", expected);
    }

    [Fact]
    public async Task The_answer_is_the_same_for_every_model_and_call()
    {
        await using var sim = await SimulatorHost.StartAsync();

        var answers = new List<string>();
        foreach (var model in new[] { "gpt-4.1", "gemini-2.5-flash", "gpt-4.1" })
        {
            answers.Add(ContentOf(await sim.Client.PostAsJsonAsync("/v1/chat/completions", SimulatorHost.Chat("same question", model), Ct)));
        }

        Assert.Single(answers.Distinct());
        Assert.Equal(SimulatorAnswers.Answer("any", [("user", "same question")]), answers[0]);
    }

    [Fact]
    public async Task Usage_follows_the_token_rule_and_adds_up()
    {
        await using var sim = await SimulatorHost.StartAsync();
        (string Role, string Content)[] messages = [("system", "Be terse."), ("user", "Summarise: the cat sat on the mat, then left.")];

        using var response = await sim.PostChatAsync(new
        {
            model = "deepseek-chat",
            messages = messages.Select(m => new { role = m.Role, content = m.Content }),
        });

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var usage = json.RootElement.GetProperty("usage");
        var prompt = usage.GetProperty("prompt_tokens").GetInt32();
        var completion = usage.GetProperty("completion_tokens").GetInt32();
        Assert.Equal(prompt + completion, usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(messages.Sum(m => SimulatorAnswers.CountTokens(m.Content) + 4), prompt);
        Assert.Equal(SimulatorAnswers.CountTokens(SimulatorAnswers.Answer("deepseek-chat", messages)), completion);

        var stats = await sim.GetStatsAsync();
        Assert.Equal(prompt, stats.PromptTokens);
        Assert.Equal(completion, stats.CompletionTokens);
    }

    [Theory]
    [InlineData("max_tokens")]
    [InlineData("max_completion_tokens")]
    public async Task A_token_budget_below_the_answer_cuts_it_with_finish_reason_length(string parameter)
    {
        await using var sim = await SimulatorHost.StartAsync();
        var body = SimulatorHost.Chat("Tell me a long story about dragons and castles");
        body[parameter] = 5;

        using var response = await sim.PostChatAsync(body);

        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var choice = json.RootElement.GetProperty("choices")[0];
        Assert.Equal("length", choice.GetProperty("finish_reason").GetString());
        var expected = SimulatorAnswers.Complete("gpt-4.1", [("user", "Tell me a long story about dragons and castles")], maxTokens: 5);
        Assert.Equal(expected.Content, choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(5, json.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Json_object_response_format_wraps_the_answer()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var body = SimulatorHost.Chat("Give me JSON");
        body["response_format"] = new { type = "json_object" };

        var content = ContentOf(await sim.PostChatAsync(body));

        using var answer = JsonDocument.Parse(content);
        Assert.Equal(SimulatorAnswers.Answer("gpt-4.1", [("user", "Give me JSON")]), answer.RootElement.GetProperty("answer").GetString());
    }

    [Fact]
    public async Task Content_given_as_text_parts_is_their_concatenation()
    {
        await using var sim = await SimulatorHost.StartAsync();

        var content = ContentOf(await sim.PostChatAsync(new
        {
            model = "gpt-4.1",
            messages = new[] { new { role = "user", content = new[] { new { type = "text", text = "Hello, " }, new { type = "text", text = "parts" } } } },
        }));

        Assert.Equal(SimulatorAnswers.Answer("gpt-4.1", [("user", "Hello, parts")]), content);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong-key")]
    [InlineData("sim-dev-key")]
    public async Task A_wrong_or_missing_key_is_401_with_the_OpenAI_error(string? authorization)
    {
        await using var sim = await SimulatorHost.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions") { Content = JsonContent.Create(SimulatorHost.Chat("hi")) };
        request.Headers.Authorization = null;
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var plain = new HttpClient { BaseAddress = sim.BaseAddress };
        using var response = await plain.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("Incorrect API key provided", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(JsonValueKind.Null, error.GetProperty("param").ValueKind);
        Assert.Equal("invalid_api_key", error.GetProperty("code").GetString());
        Assert.Equal(1, (await sim.GetStatsAsync()).StatusCodes[401]);
    }

    [Fact]
    public async Task An_unknown_model_is_404_model_not_found()
    {
        await using var sim = await SimulatorHost.StartAsync();

        using var response = await sim.PostChatAsync(SimulatorHost.Chat("hi", model: "gpt-9"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("The model `gpt-9` does not exist", error.GetProperty("message").GetString());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal("model", error.GetProperty("param").GetString());
        Assert.Equal("model_not_found", error.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("""{"model":"gpt-4.1","messages":[]}""")]
    [InlineData("""{"model":"gpt-4.1"}""")]
    [InlineData("""{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"max_tokens":0}""")]
    [InlineData("""{"model":"gpt-4.1","messages":""")]
    public async Task An_invalid_request_is_400_with_the_OpenAI_error(string body)
    {
        await using var sim = await SimulatorHost.StartAsync();

        using var response = await sim.Client.PostAsync(
            "/v1/chat/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = await ErrorOf(response);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Concurrency_is_tracked_in_flight_and_at_most()
    {
        await using var sim = await SimulatorHost.StartAsync("LatencyMs=300");

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => sim.PostChatAsync(SimulatorHost.Chat($"q{i}"))));

        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var stats = await sim.GetStatsAsync();
        Assert.Equal(8, stats.TotalRequests);
        Assert.Equal(0, stats.InFlight);
        Assert.InRange(stats.MaxInFlight, 2, 8);
    }

    internal static string ContentOf(HttpResponseMessage response)
    {
        using (response)
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var json = JsonDocument.Parse(response.Content.ReadAsStream(Ct));
            return json.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
        }
    }

    internal static async Task<JsonElement> ErrorOf(HttpResponseMessage response)
    {
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return json.RootElement.GetProperty("error").Clone();
    }
}
