using System.Text.Json;
using AspireBatch.Dashboard.Api;

namespace AspireBatch.Dashboard.Tests;

/// <summary>A schema file uploaded on the New job page becomes a strict json_schema response format.</summary>
public sealed class SchemaUploadTests
{
    [Fact]
    public void A_schema_file_becomes_a_strict_json_schema_response_format_named_after_the_file()
    {
        var (format, error) = JobForm.SchemaResponseFormat("review sentiment.v2.json", """{"type":"object","properties":{"label":{"type":"string"}}}""");
        Assert.Null(error);
        using var json = JsonDocument.Parse(format!);
        Assert.Equal("json_schema", json.RootElement.GetProperty("type").GetString());
        var schema = json.RootElement.GetProperty("json_schema");
        Assert.Equal("review_sentiment_v2", schema.GetProperty("name").GetString());
        Assert.True(schema.GetProperty("strict").GetBoolean());
        Assert.Equal("string", schema.GetProperty("schema").GetProperty("properties").GetProperty("label").GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("{not json", "is not JSON")]
    [InlineData("[1,2]", "must hold a JSON Schema object")]
    public void A_file_that_is_not_a_schema_object_is_refused(string text, string expected)
    {
        var (format, error) = JobForm.SchemaResponseFormat("s.json", text);
        Assert.Null(format);
        Assert.Contains(expected, error);
    }
}
