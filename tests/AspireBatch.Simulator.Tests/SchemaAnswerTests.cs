using System.Net;
using System.Text.Json;
using Json.Schema;

namespace AspireBatch.Simulator.Tests;

/// <summary>json_schema answers: documents that follow the schema, and violations at the configured rate.</summary>
public sealed class SchemaAnswerTests
{
    private const string Extraction = """
        {"type":"object","additionalProperties":false,"required":["sentiment","score","topics","urgent","order","note"],
         "properties":{
           "sentiment":{"type":"string","enum":["positive","negative","neutral"]},
           "score":{"type":"number","minimum":0,"maximum":1},
           "topics":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":4},
           "urgent":{"type":"boolean"},
           "order":{"type":"object","required":["number"],"properties":{"number":{"type":"integer","minimum":1000,"maximum":9999}}},
           "note":{"type":["string","null"],"minLength":12}}}
        """;

    private static readonly JsonSchema Judge = JsonSchema.FromText(Extraction, new BuildOptions { SchemaRegistry = new SchemaRegistry() });

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Dictionary<string, object?> Request(string content, params (string Role, string Content)[] history)
    {
        var body = SimulatorHost.Chat(content);
        body["messages"] = new[] { new { role = "user", content } }.Concat(history.Select(h => new { role = h.Role, content = h.Content })).ToArray();
        body["response_format"] = new
        {
            type = "json_schema",
            json_schema = new { name = "extraction", strict = true, schema = JsonDocument.Parse(Extraction).RootElement },
        };
        return body;
    }

    private static async Task<string> ContentOf(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        return json.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!;
    }

    private static bool Follows(string content)
    {
        try
        {
            using var document = JsonDocument.Parse(content);
            return Judge.Evaluate(document.RootElement).IsValid;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [Fact]
    public void Generated_documents_follow_the_schema_and_depend_on_the_prompt_only()
    {
        var schema = JsonDocument.Parse(Extraction).RootElement;
        var answers = Enumerable.Range(0, 50).Select(i => SchemaAnswers.Conforming(schema, [("user", $"ticket {i}")])).ToList();
        Assert.All(answers, a => Assert.True(Follows(a), a));
        Assert.Equal(answers[7], SchemaAnswers.Conforming(schema, [("user", "ticket 7")]));
        Assert.True(answers.Distinct().Count() > 40, "answers should vary with the prompt");
    }

    [Fact]
    public void Violating_documents_break_the_schema()
    {
        var schema = JsonDocument.Parse(Extraction).RootElement;
        Assert.All(Enumerable.Range(0, 20), i => Assert.False(Follows(SchemaAnswers.Violating(schema, [("user", $"ticket {i}")]))));
        // With nothing inside to break, the answer is not even JSON.
        var plain = JsonDocument.Parse("""{"type":"integer"}""").RootElement;
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(SchemaAnswers.Violating(plain, [("user", "x")])));
    }

    [Fact]
    public async Task A_json_schema_request_is_answered_with_a_conforming_document()
    {
        await using var sim = await SimulatorHost.StartAsync();
        for (var i = 0; i < 20; i++)
        {
            var content = await ContentOf(await sim.PostChatAsync(Request($"review {i}")));
            Assert.True(Follows(content), content);
        }
        Assert.Equal(0, (await sim.GetStatsAsync()).SchemaViolations);
    }

    [Fact]
    public async Task A_json_schema_without_a_schema_is_refused()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var body = SimulatorHost.Chat("x");
        body["response_format"] = new { type = "json_schema", json_schema = new { name = "x" } };
        using var response = await sim.PostChatAsync(body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task SchemaViolationRate_lands_near_its_rate_and_is_counted()
    {
        await using var sim = await SimulatorHost.StartAsync("SchemaViolationRate=0.3", "Seed=42");
        var broken = 0;
        for (var i = 0; i < 300; i++)
        {
            broken += Follows(await ContentOf(await sim.PostChatAsync(Request($"item {i}")))) ? 0 : 1;
        }
        Assert.InRange(broken, 66, 114); // 90 expected; +/- 3 standard deviations
        Assert.Equal(broken, (await sim.GetStatsAsync()).SchemaViolations);
    }

    [Fact]
    public async Task A_reask_is_answered_right_unless_violations_are_sticky()
    {
        await using var sim = await SimulatorHost.StartAsync("SchemaViolationRate=1", "Seed=5");
        Assert.False(Follows(await ContentOf(await sim.PostChatAsync(Request("first")))));
        var reask = Request("first", ("assistant", "{}"), ("user", "Your answer does not follow the schema"));
        Assert.True(Follows(await ContentOf(await sim.PostChatAsync(reask))));

        (await sim.PutConfigAsync(new { schemaViolationOnReask = true })).EnsureSuccessStatusCode();
        Assert.False(Follows(await ContentOf(await sim.PostChatAsync(reask))));
    }

    [Fact]
    public async Task The_violation_rate_is_set_at_run_time_and_validated()
    {
        await using var sim = await SimulatorHost.StartAsync();
        using var invalid = await sim.PutConfigAsync(new { schemaViolationRate = 1.5 });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        (await sim.PutConfigAsync(new { schemaViolationRate = 1.0 })).EnsureSuccessStatusCode();
        Assert.False(Follows(await ContentOf(await sim.PostChatAsync(Request("x")))));
    }
}
