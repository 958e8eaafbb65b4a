using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using AspireBatch.Worker.NativeBatch;

namespace AspireBatch.UnitTests;

/// <summary>Packing records into a provider batch's input file, and reading its output and error lines back.</summary>
public sealed class NativeBatchFileTests
{
    private static JsonObject Body(string text) => new()
    {
        ["model"] = "gpt-4.1-mini",
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
    };

    [Fact]
    public void A_line_is_an_openai_batch_request_whose_custom_id_is_the_item_id()
    {
        using var line = JsonDocument.Parse(BatchFile.Line(4711, JobEndpoint.ChatCompletions, Body("héllo")));
        var root = line.RootElement;
        Assert.Equal("4711", root.GetProperty("custom_id").GetString());
        Assert.Equal("POST", root.GetProperty("method").GetString());
        Assert.Equal("/v1/chat/completions", root.GetProperty("url").GetString());
        Assert.Equal("héllo", root.GetProperty("body").GetProperty("messages")[0].GetProperty("content").GetString());
        using var embedding = JsonDocument.Parse(BatchFile.Line(1, JobEndpoint.Embeddings, new JsonObject { ["model"] = "e", ["input"] = "x" }));
        Assert.Equal("/v1/embeddings", embedding.RootElement.GetProperty("url").GetString());
    }

    [Theory]
    [InlineData(10, 3, 1_000_000, 3)]   // the line limit
    [InlineData(10, 50_000, 35, 3)]     // the byte limit: lines of 10 bytes + newline, 3 fit in 35
    [InlineData(10, 50_000, 33, 3)]     // exactly 3 × 11
    [InlineData(10, 50_000, 32, 2)]
    [InlineData(0, 5, 100, 0)]
    public void Fit_takes_as_many_lines_as_both_limits_allow(int lines, int maxLines, long maxBytes, int expected) =>
        Assert.Equal(expected, BatchFile.Fit(Enumerable.Repeat("0123456789", lines).ToList(), maxLines, maxBytes));

    [Fact]
    public void Fit_counts_utf8_bytes_and_takes_a_first_line_over_the_limit_alone()
    {
        // "é" is 2 bytes: 5 of them and a newline are 11 bytes.
        Assert.Equal(1, BatchFile.Fit(["ééééé", "ééééé"], 10, 21));
        Assert.Equal(2, BatchFile.Fit(["ééééé", "ééééé"], 10, 22));
        Assert.Equal(1, BatchFile.Fit([new string('x', 500), "y"], 10, 100));
    }

    [Fact]
    public void Content_ends_every_line_with_a_newline()
    {
        var content = BatchFile.Content(["{\"a\":1}", "{\"b\":2}"]);
        Assert.Equal("{\"a\":1}\n{\"b\":2}\n", Encoding.UTF8.GetString(content));
    }

    [Fact]
    public void An_output_line_with_an_answer_is_judged_like_a_realtime_answer()
    {
        var line = """
            {"id":"batch_req_1","custom_id":"42","response":{"status_code":200,"request_id":"r1","body":{"id":"chatcmpl-9","object":"chat.completion",
             "model":"gpt-4.1-mini","choices":[{"index":0,"message":{"role":"assistant","content":"positive"},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13}}},"error":null}
            """.ReplaceLineEndings("");
        var result = BatchOutput.Parse(line, JobEndpoint.ChatCompletions)!;
        Assert.Equal(42, result.ItemId);
        Assert.False(result.NeverRan);
        Assert.True(result.Answer!.Succeeded);
        Assert.Equal("positive", result.Answer.Text);
        Assert.Equal("chatcmpl-9", result.Answer.ResponseId);
        Assert.Equal(12, result.Answer.Usage!.InputTokens);
        Assert.Equal(1, result.Answer.Usage.OutputTokens);
    }

    [Fact]
    public void An_error_line_with_a_response_is_a_provider_error_and_a_5xx_is_retryable()
    {
        var server = BatchOutput.Parse("""{"id":"b","custom_id":"7","response":{"status_code":500,"request_id":"r","body":{"error":{"message":"boom","type":"server_error","param":null,"code":null}}},"error":null}""",
            JobEndpoint.ChatCompletions)!;
        Assert.Equal(7, server.ItemId);
        Assert.False(server.Answer!.Succeeded);
        Assert.True(server.Answer.Retryable);
        Assert.Equal(500, server.Answer.StatusCode);
        var bad = BatchOutput.Parse("""{"id":"b","custom_id":"8","response":{"status_code":400,"request_id":"r","body":{"error":{"message":"bad model","type":"invalid_request_error","param":"model","code":null}}},"error":null}""",
            JobEndpoint.ChatCompletions)!;
        Assert.False(bad.Answer!.Retryable);
        Assert.Contains("bad model", bad.Answer.ErrorMessage);
    }

    [Fact]
    public void An_expired_line_never_ran()
    {
        var expired = BatchOutput.Parse("""{"id":"b","custom_id":"9","response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}""",
            JobEndpoint.ChatCompletions)!;
        Assert.True(expired.NeverRan);
        Assert.Null(expired.Answer);
        Assert.Equal("batch_expired", expired.ErrorCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("[1,2]")]
    [InlineData("""{"custom_id":"r-12"}""")]
    [InlineData("""{"custom_id":12}""")]
    [InlineData("""{"response":{"status_code":200,"body":{}}}""")]
    public void Lines_that_name_no_record_of_ours_are_skipped(string line) =>
        Assert.Null(BatchOutput.Parse(line, JobEndpoint.ChatCompletions));

    [Theory]
    [InlineData(8.0, null, null, 4.0)]       // OpenAI's 50 % when none is given
    [InlineData(8.0, null, 25.0, 6.0)]
    [InlineData(8.0, 3.5, 50.0, 3.5)]         // the model's own batch price wins
    [InlineData(8.0, null, 0.0, 8.0)]
    [InlineData(8.0, null, 150.0, 0.0)]         // clamped to 100 %
    public void The_batch_price_is_the_models_own_or_the_discounted_realtime_price(double realtime, double? batch, double? discount, double expected) =>
        Assert.Equal((decimal)expected, Pricing.BatchPrice((decimal)realtime, (decimal?)batch, (decimal?)discount));

    [Theory]
    [InlineData(null, JobMode.Realtime)]
    [InlineData("", JobMode.Realtime)]
    [InlineData("realtime", JobMode.Realtime)]
    [InlineData("Provider-Batch", JobMode.ProviderBatch)]
    [InlineData("auto", JobMode.Auto)]
    public void Modes_parse_from_their_wire_names(string? text, JobMode expected)
    {
        Assert.Equal(expected, JobModes.Parse(text));
        Assert.Equal(expected, JobModes.Parse(expected.Name()));
    }

    [Fact]
    public void An_unknown_mode_does_not_parse() => Assert.Null(JobModes.Parse("overnight"));
}
