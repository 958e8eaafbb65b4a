using AspireBatch.Api.Services;

namespace AspireBatch.UnitTests;

public sealed class AnswerFieldsTests
{
    private static string Extract(string? answer, string field) => AnswerFields.Extract(answer, AnswerFields.Parse(field).Path!);

    [Fact]
    public void A_dotted_path_reads_strings_numbers_booleans_and_nested_values()
    {
        const string answer = """{"sentiment":"positive","score":0.91,"spam":false,"order":{"id":"A-17","lines":[{"sku":"x"}]}}""";
        Assert.Equal("positive", Extract(answer, "answer.sentiment"));
        Assert.Equal("0.91", Extract(answer, "answer.score"));
        Assert.Equal("false", Extract(answer, "answer.spam"));
        Assert.Equal("A-17", Extract(answer, "answer.order.id"));
        Assert.Equal("x", Extract(answer, "answer.order.lines.0.sku"));
    }

    [Fact]
    public void Arrays_and_objects_are_compact_json_with_their_text_kept()
    {
        const string answer = """
            {
              "topics": ["delivery", "préço"],
              "meta": { "a": 1 }
            }
            """;
        Assert.Equal("""["delivery","préço"]""", Extract(answer, "answer.topics"));
        Assert.Equal("""{"a":1}""", Extract(answer, "answer.meta"));
        Assert.Equal("préço", Extract(answer, "answer.topics.1"));
    }

    [Theory]
    [InlineData("positive")]
    [InlineData("42")]
    [InlineData("\"positive\"")]
    [InlineData("{\"sentiment\": ")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("{\"other\":\"x\"}")]
    [InlineData("{\"sentiment\":null}")]
    [InlineData("[1,2]")]
    public void An_answer_that_is_not_json_or_lacks_the_path_gives_an_empty_cell(string? answer) =>
        Assert.Equal("", Extract(answer, "answer.sentiment"));

    [Fact]
    public void A_markdown_json_fence_is_tolerated()
    {
        Assert.Equal("negative", Extract("```json\n{\"sentiment\": \"negative\"}\n```", "answer.sentiment"));
        Assert.Equal("negative", Extract("  ```\n{\"sentiment\": \"negative\"}\n```\n", "answer.sentiment"));
        Assert.Equal("", Extract("```{\"sentiment\": \"negative\"}```", "answer.sentiment"));
    }

    [Theory]
    [InlineData("sentiment")]
    [InlineData("answer.")]
    [InlineData("answer..x")]
    [InlineData("answer.a b")]
    [InlineData("answer.a;drop")]
    [InlineData("answer.a.b.c.d.e.f.g.h.i")]
    public void A_bad_field_name_is_refused_with_a_message(string field)
    {
        var (path, error) = AnswerFields.Parse(field);
        Assert.Null(path);
        Assert.NotNull(error);
    }

    [Fact]
    public void Only_names_starting_with_answer_dot_are_answer_fields()
    {
        Assert.True(AnswerFields.IsAnswerField("answer.sentiment"));
        Assert.False(AnswerFields.IsAnswerField("answer"));
        Assert.False(AnswerFields.IsAnswerField("text"));
        Assert.Equal(["order", "lines", "0"], AnswerFields.Parse("answer.order.lines.0").Path!);
    }

    [Fact]
    public void The_preview_lists_the_top_level_properties_a_json_schema_declares()
    {
        const string format = """
            {"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{
              "sentiment":{"type":"string","enum":["positive","negative"]},"topics":{"type":"array","items":{"type":"string"}},
              "score":{"type":["number","null"]},"any":{}}}}}
            """;
        var fields = AnswerFields.DeclaredBy(format);
        Assert.Equal(["answer.sentiment:string", "answer.topics:array", "answer.score:number|null", "answer.any:any"], fields.Select(f => $"{f.Path}:{f.Type}"));
        Assert.Empty(AnswerFields.DeclaredBy("""{"type":"json_object"}"""));
        Assert.Empty(AnswerFields.DeclaredBy(null));
        Assert.Empty(AnswerFields.DeclaredBy("not json"));
    }
}
