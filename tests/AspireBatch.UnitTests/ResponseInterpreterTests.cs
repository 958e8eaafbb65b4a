using System.Net;
using AspireBatch.Worker.Execution;

namespace AspireBatch.UnitTests;

/// <summary>What the Worker reads out of the bodies real providers and the proxies in front of them send.</summary>
public sealed class ResponseInterpreterTests
{
    private const string Answer = """{"id":"chatcmpl-1","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"positive"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":1,"total_tokens":13}}""";

    private static CallResult Judge(int status, string body, string? contentType = "application/json") =>
        ResponseInterpreter.Interpret((HttpStatusCode)status, null, contentType, body, null);

    [Fact]
    public void A_normal_answer_has_its_text_and_usage()
    {
        var result = Judge(200, Answer);
        Assert.True(result.Succeeded);
        Assert.Equal("positive", result.Text);
        Assert.Equal(new ReportedUsage(12, 1, null, null), result.Usage);
    }

    [Theory]
    [InlineData(502, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>", "HTML page: 502 Bad Gateway")]
    [InlineData(503, "upstream connect error or disconnect/reset before headers. reset reason: connection failure", "upstream connect error")]
    [InlineData(500, """{"error":{"message":"The server had an error","type":"server_error"}}""", "The server had an error")]
    [InlineData(429, """[{"error":{"code":429,"message":"Resource has been exhausted","status":"RESOURCE_EXHAUSTED"}}]""", "Resource has been exhausted")]
    [InlineData(500, """{"error":"llama runner process has terminated"}""", "llama runner process has terminated")]
    public void Error_bodies_of_every_shape_give_a_readable_message_and_are_retried(int status, string body, string message)
    {
        var result = Judge(status, body, "text/html");
        Assert.Equal($"http_{status}", result.ErrorCode);
        Assert.Contains(message, result.ErrorMessage);
        Assert.True(result.Retryable);
    }

    [Fact]
    public void An_empty_error_body_uses_the_reason_phrase()
    {
        var result = ResponseInterpreter.Interpret(HttpStatusCode.BadGateway, "Bad Gateway", null, "", null);
        Assert.Equal("Bad Gateway", result.ErrorMessage);
        Assert.True(result.Retryable);
    }

    [Theory]
    [InlineData(408, true)]
    [InlineData(409, true)]
    [InlineData(413, false)]
    [InlineData(422, false)]
    [InlineData(499, true)]
    [InlineData(529, true)]
    [InlineData(400, false)]
    [InlineData(404, false)]
    public void Statuses_are_retried_when_the_next_try_may_succeed(int status, bool retried) =>
        Assert.Equal(retried, Judge(status, "{}").Retryable);

    [Fact]
    public void Out_of_credit_and_a_filtered_prompt_are_not_retried()
    {
        var quota = Judge(429, """{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}""");
        Assert.Equal(("insufficient_quota", false), (quota.ErrorCode, quota.Retryable));
        var filtered = Judge(400, """{"error":{"code":"content_filter","message":"filtered","status":400,"innererror":{"code":"ResponsibleAIPolicyViolation"}}}""");
        Assert.Equal(("content_filter", false), (filtered.ErrorCode, filtered.Retryable));
    }

    [Fact]
    public void A_refusal_fails_with_its_text_and_keeps_its_usage()
    {
        var result = Judge(200, """{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":6,"total_tokens":15}}""");
        Assert.Equal("refusal", result.ErrorCode);
        Assert.Equal("I can't help with that.", result.ErrorMessage);
        Assert.False(result.Retryable);
        Assert.Equal(6, result.OutputTokens);
    }

    [Fact]
    public void Empty_choices_are_retried_and_an_error_inside_a_200_is_an_error()
    {
        Assert.Equal(("empty_choices", true), (Judge(200, """{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":0}}""").ErrorCode, true));
        var inside = Judge(200, """{"error":{"message":"Provider returned error","code":502}}""");
        Assert.Equal(("provider_error", true), (inside.ErrorCode, inside.Retryable));
        Assert.Equal("Provider returned error", inside.ErrorMessage);
    }

    [Fact]
    public void An_event_stream_nobody_asked_for_is_put_together()
    {
        const string stream = """
            data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}

            data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"posi"},"finish_reason":null}]}

            data: {"id":"c1","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"content":"tive"},"finish_reason":"stop"}],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}

            data: [DONE]
            """;
        var result = Judge(200, stream, "text/event-stream");
        Assert.True(result.Succeeded);
        Assert.Equal("positive", result.Text);
        Assert.Equal("stop", result.FinishReason);
        Assert.Equal(2, result.OutputTokens);
    }

    [Fact]
    public void Usage_details_of_openai_and_deepseek_are_read()
    {
        var openai = Judge(200, Answer.Replace("\"total_tokens\":13}", "\"total_tokens\":13,\"prompt_tokens_details\":{\"cached_tokens\":8},\"completion_tokens_details\":{\"reasoning_tokens\":1}}"));
        Assert.Equal(new ReportedUsage(12, 1, 8, 1), openai.Usage);
        var deepseek = Judge(200, Answer.Replace("\"total_tokens\":13}", "\"total_tokens\":13,\"prompt_cache_hit_tokens\":4,\"prompt_cache_miss_tokens\":8}"));
        Assert.Equal(4, deepseek.Usage!.CachedInputTokens);
    }

    [Theory]
    [InlineData("OK", "text/plain")]
    [InlineData("""{"id":"x","choices":[{"message":{"content":"tru""", "application/json")]
    [InlineData("[1,2]", "application/json")]
    public void What_is_not_an_answer_is_malformed_and_retried(string body, string contentType)
    {
        var result = Judge(200, body, contentType);
        Assert.Equal(("malformed_response", true), (result.ErrorCode, result.Retryable));
    }

    [Fact]
    public void A_missing_usage_is_left_for_the_caller_to_estimate()
    {
        var result = Judge(200, """{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}]}""");
        Assert.True(result.Succeeded);
        Assert.Null(result.Usage);
    }
}
