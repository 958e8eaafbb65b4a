using System.Net;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using AspireBatch.Worker.Execution;

namespace AspireBatch.UnitTests;

/// <summary>
/// Embeddings answers as providers send them (OpenAI's floats and base64, gateways' untidy variants), the vectors'
/// stored form, and the request an embeddings job sends.
/// </summary>
public sealed class EmbeddingAnswerTests
{
    private static CallResult Judge(int status, string body) =>
        ResponseInterpreter.Interpret((HttpStatusCode)status, null, "application/json", body, null, JobEndpoint.Embeddings);

    [Fact]
    public void An_openai_float_answer_gives_its_vectors_in_index_order_and_its_input_usage()
    {
        var result = Judge(200, """
            {"object":"list","data":[{"object":"embedding","index":1,"embedding":[0.5,-0.25]},{"object":"embedding","index":0,"embedding":[1,0]}],
             "model":"text-embedding-3-small","usage":{"prompt_tokens":7,"total_tokens":7}}
            """);
        Assert.True(result.Succeeded);
        Assert.Equal([[1f, 0f], [0.5f, -0.25f]], result.Vectors!);
        Assert.Equal(new ReportedUsage(7, 0, null, null), result.Usage);
        Assert.Equal("text-embedding-3-small", result.ResponseModel);
        // The body is the vectors again as text: not kept.
        Assert.Null(result.Body);
        Assert.Null(result.Text);
    }

    [Fact]
    public void A_base64_answer_is_decoded_as_float32_little_endian()
    {
        float[] vector = [0.125f, -3.5f, 1e-7f];
        var result = Judge(200, $$"""{"data":[{"index":0,"embedding":"{{Embeddings.ToBase64(vector)}}"}],"model":"m"}""");
        Assert.Equal(vector, result.Vectors![0]);
        // No usage: the ledger estimates it from the input.
        Assert.Null(result.Usage);
    }

    [Theory]
    [InlineData("""{"data":[]}""", "holds no embeddings")]
    [InlineData("""{"data":[{"embedding":[1,2]},{"embedding":[1]}]}""", "different sizes")]
    [InlineData("""{"data":[{"index":0}]}""", "has no embedding")]
    [InlineData("""{"object":"list"}""", "no data list")]
    [InlineData("""{"data":[{"embedding":"not base64!"}]}""", "not an embeddings list")]
    [InlineData("""{"data":[{"embedding":[1,"x"]}]}""", "not an embeddings list")]
    [InlineData("""[1,2]""", "not a JSON object")]
    [InlineData("""{"data":[{"embedding":[1,2]""", "not an embeddings list")]
    public void An_unusable_200_is_malformed_and_retried(string body, string message)
    {
        var result = Judge(200, body);
        Assert.Equal("malformed_response", result.ErrorCode);
        Assert.True(result.Retryable);
        Assert.Contains(message, result.ErrorMessage);
    }

    [Fact]
    public void A_200_holding_an_error_is_the_providers_error()
    {
        var result = Judge(200, """{"error":{"message":"upstream timed out","type":"server_error"}}""");
        Assert.Equal(("provider_error", "upstream timed out"), (result.ErrorCode, result.ErrorMessage));
    }

    [Fact]
    public void Errors_are_read_as_for_chat()
    {
        var result = Judge(429, """{"error":{"message":"Rate limit reached for text-embedding-3-small","type":"tokens","code":"rate_limit_exceeded"}}""");
        Assert.Equal("http_429", result.ErrorCode);
        Assert.True(result.Retryable);
    }

    [Fact]
    public void Vectors_pack_into_four_bytes_a_value_and_back()
    {
        float[][] vectors = [[1f, -0.5f, float.Epsilon], [0f, 2f, -1e30f]];
        var bytes = Embeddings.Pack(vectors);
        Assert.Equal(24, bytes.Length);
        Assert.Equal(vectors, Embeddings.Unpack(bytes, 3));
        Assert.Equal(Convert.ToBase64String(bytes[..12]), Embeddings.ToBase64(vectors[0]));
        Assert.Throws<ArgumentException>(() => Embeddings.Unpack(bytes, 5));
        Assert.Throws<ArgumentException>(() => Embeddings.Pack([[1f], [1f, 2f]]));
        var described = Embeddings.Describe(bytes, 3)!;
        Assert.Equal((2, 3), (described.Count, described.Dimensions));
        Assert.Equal(Math.Sqrt(1.25), described.Norm, 6);
    }

    [Fact]
    public void An_embeddings_job_sends_its_rendered_input_with_its_dimensions()
    {
        var builder = new ProviderRequestBuilder(new JobRequestSettings(JobInputFormat.Jsonl, null, "Title: {{title}}", null, null, null, JobEndpoint.Embeddings, 64));
        var request = builder.Build("""{"id":"a","title":"Hello"}""", "text-embedding-3-small");
        Assert.Equal("""{"model":"text-embedding-3-small","input":"Title: Hello","dimensions":64}""", request.ToJsonString());
    }

    [Fact]
    public void An_embeddings_job_bounds_no_output_tokens()
    {
        Assert.Equal(0, Pricing.OutputTokensForEstimate(JobEndpoint.Embeddings, null));
        Assert.Equal(100, Pricing.OutputTokensForEstimate(JobEndpoint.ChatCompletions, 100));
        Assert.Equal(Pricing.DefaultMaxOutputTokensForEstimate, Pricing.OutputTokensForEstimate(JobEndpoint.ChatCompletions, null));
    }

    [Theory]
    [InlineData("/v1/embeddings", JobEndpoint.Embeddings)]
    [InlineData("embeddings", JobEndpoint.Embeddings)]
    [InlineData(null, JobEndpoint.ChatCompletions)]
    [InlineData("/v1/chat/completions", JobEndpoint.ChatCompletions)]
    public void Endpoints_are_named_by_their_path(string? text, JobEndpoint expected)
    {
        Assert.Equal(expected, JobEndpoints.Parse(text));
        Assert.Equal($"\"{expected.Path()}\"", JsonSerializer.Serialize(expected));
    }

    [Fact]
    public void An_unknown_endpoint_is_none()
    {
        Assert.Null(JobEndpoints.Parse("/v1/responses"));
    }

    [Fact]
    public void Chat_parameters_hash_as_before_and_embeddings_by_their_own()
    {
        Assert.Equal(LineageHash.Parameters(0.5, 10, null), LineageHash.Parameters(JobEndpoint.ChatCompletions, 0.5, 10, null, null));
        Assert.NotEqual(LineageHash.Parameters(JobEndpoint.Embeddings, null, null, null, 64), LineageHash.Parameters(JobEndpoint.Embeddings, null, null, null, 32));
        Assert.NotEqual(LineageHash.Parameters(null, null, null), LineageHash.Parameters(JobEndpoint.Embeddings, null, null, null, null));
    }
}
