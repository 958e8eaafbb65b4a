using System.Text.Json;
using AspireBatch.Data.Domain;

namespace AspireBatch.UnitTests;

/// <summary>The JSON Schema wrapper: which response formats carry a usable schema, and what a failed check says.</summary>
public sealed class AnswerSchemaTests
{
    private const string Sentiment = """
        {"type":"object","properties":{"sentiment":{"type":"string","enum":["positive","negative"]},"score":{"type":"number"}},
         "required":["sentiment","score"],"additionalProperties":false}
        """;

    private static AnswerSchema Schema(string schema = Sentiment)
    {
        var (built, error) = AnswerSchema.FromResponseFormat(Format(schema));
        Assert.Null(error);
        return Assert.IsType<AnswerSchema>(built);
    }

    private static JsonElement Format(string schema) =>
        JsonDocument.Parse($$$"""{"type":"json_schema","json_schema":{"name":"s","schema":{{{schema}}},"strict":true}}""").RootElement;

    [Theory]
    [InlineData("""{"type":"text"}""")]
    [InlineData("""{"type":"json_object"}""")]
    [InlineData("""{}""")]
    public void Formats_without_a_schema_ask_no_check(string format)
    {
        var (schema, error) = AnswerSchema.FromResponseFormat(JsonDocument.Parse(format).RootElement);
        Assert.Null(schema);
        Assert.Null(error);
    }

    [Theory]
    [InlineData("""{"type":"json_schema"}""", "json_schema must be an object")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"x"}}""", "json_schema.schema is missing")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"x","schema":"object"}}""", "not a valid JSON Schema")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"strin"}}}""", "not a valid JSON Schema")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object","required":"a"}}}""", "not a valid JSON Schema")]
    [InlineData("""{"type":"json_schema","json_schema":{"name":"x","schema":{"properties":{"a":{"minLength":-1}}}}}""", "not a valid JSON Schema")]
    public void A_json_schema_format_without_a_valid_schema_is_refused(string format, string expected)
    {
        var (schema, error) = AnswerSchema.FromResponseFormat(JsonDocument.Parse(format).RootElement);
        Assert.Null(schema);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void A_conforming_answer_passes()
    {
        Assert.Equal(SchemaCheck.Valid, Schema().Check("""{"sentiment":"positive","score":0.9}"""));
    }

    [Fact]
    public void A_non_json_answer_says_so_at_the_root()
    {
        var check = Schema().Check("positive, I think");
        Assert.False(check.IsValid);
        var violation = Assert.Single(check.Violations);
        Assert.Equal("", violation.Pointer);
        Assert.StartsWith("/: the answer is not JSON", check.Summary);
    }

    [Fact]
    public void Violations_name_their_json_pointer()
    {
        var check = Schema().Check("""{"sentiment":"mixed","score":"high","extra":1}""");
        Assert.False(check.IsValid);
        var pointers = check.Violations.Select(v => v.Pointer).ToList();
        Assert.Contains("/sentiment", pointers);
        Assert.Contains("/score", pointers);
        Assert.Contains("/score: ", check.Summary);
    }

    [Fact]
    public void A_missing_required_property_is_named()
    {
        var check = Schema().Check("""{"score":1}""");
        Assert.False(check.IsValid);
        Assert.Contains("sentiment", check.Summary);
    }

    [Fact]
    public void The_summary_names_the_first_few_violations_only()
    {
        var schema = Schema("""{"type":"array","items":{"type":"integer"}}""");
        var check = schema.Check("""["a","b","c","d","e","f","g","h"]""");
        Assert.Equal(8, check.Violations.Count);
        Assert.EndsWith("; and 3 more", check.Summary);
        Assert.Equal(SchemaCheck.SummaryLimit, check.Summary.Split("; ").Length - 1);
    }

    [Fact]
    public void Schemas_with_the_same_id_do_not_collide()
    {
        var first = Schema("""{"$id":"https://example.com/s","type":"string"}""");
        var second = Schema("""{"$id":"https://example.com/s","type":"integer"}""");
        Assert.True(first.Check("\"a\"").IsValid);
        Assert.True(second.Check("1").IsValid);
        Assert.False(second.Check("\"a\"").IsValid);
    }
}

/// <summary>What the Worker sends when an answer broke the schema, and how it keeps a job's schemas.</summary>
public sealed class SchemaReaskTests
{
    private const string Format = """{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}}}""";

    [Fact]
    public void A_reask_is_the_request_with_the_answer_and_the_errors_after_it()
    {
        var request = System.Text.Json.Nodes.JsonNode.Parse($$"""{"model":"m","messages":[{"role":"user","content":"count"}],"response_format":{{Format}}}""")!.AsObject();
        var schema = new AspireBatch.Worker.Execution.JobSchemas().For(request["response_format"])!;
        var check = schema.Check("""{"n":"three"}""");
        var reask = AspireBatch.Worker.Execution.SchemaReask.Build(request, """{"n":"three"}""", check);

        var messages = reask["messages"]!.AsArray();
        Assert.Equal(3, messages.Count);
        Assert.Equal("assistant", (string?)messages[1]!["role"]);
        Assert.Equal("""{"n":"three"}""", (string?)messages[1]!["content"]);
        Assert.Equal("user", (string?)messages[2]!["role"]);
        Assert.Contains("/n: ", (string?)messages[2]!["content"]);
        Assert.Single(request["messages"]!.AsArray()); // the original request is left as it was
        Assert.Equal(Format, reask["response_format"]!.ToJsonString());
    }

    [Fact]
    public void A_job_builds_each_schema_once_and_asks_no_check_without_one()
    {
        var schemas = new AspireBatch.Worker.Execution.JobSchemas();
        var first = schemas.For(System.Text.Json.Nodes.JsonNode.Parse(Format));
        Assert.NotNull(first);
        Assert.Same(first, schemas.For(System.Text.Json.Nodes.JsonNode.Parse(Format)));
        Assert.Null(schemas.For(System.Text.Json.Nodes.JsonNode.Parse("""{"type":"json_object"}""")));
        Assert.Null(schemas.For(null));
        // One that does not build (imported before schemas were checked) means no check rather than failing records.
        Assert.Null(schemas.For(System.Text.Json.Nodes.JsonNode.Parse("""{"type":"json_schema","json_schema":{"schema":{"type":"strin"}}}""")));
    }
}
