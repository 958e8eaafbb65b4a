using System.Text.Json;
using AspireBatch.Simulator.Contracts;
using AspireBatch.Simulator.Services;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Simulator.Apis;

/// <summary>What a batch line's handler needs: the settings in force when the line is answered, and the shared services.</summary>
public sealed record BatchLineContext(SimulatorOptions Options, SimulatorRuntime Runtime, SimulatorCounters Counters, TimeProvider Time);

/// <summary>A batch line's answer: the status and body a real-time request to the same URL would have got, and its tokens.</summary>
public sealed record BatchLineResult(int StatusCode, object Body, int PromptTokens = 0, int CompletionTokens = 0)
{
    public bool Succeeded => StatusCode is >= 200 and < 300;
}

/// <summary>
/// Answers one line of a native batch, by the line's <c>url</c>. Each handler answers exactly as the real-time endpoint of
/// the same URL does (same validation, same deterministic answer, same usage), without its latency, rate limits or faults.
/// To serve another URL in batches, add it to <see cref="Handlers"/>: <c>POST /v1/batches</c> accepts exactly these endpoints.
/// </summary>
public static class BatchLines
{
    private static readonly Dictionary<string, Func<JsonElement, BatchLineContext, BatchLineResult>> Handlers = new(StringComparer.Ordinal)
    {
        ["/v1/chat/completions"] = ChatCompletion,
        ["/v1/embeddings"] = Embeddings,
    };

    /// <summary>The endpoints a batch may name, in a stable order for error messages.</summary>
    public static IReadOnlyList<string> Endpoints { get; } = [.. Handlers.Keys.Order(StringComparer.Ordinal)];

    public static bool Serves(string url) => Handlers.ContainsKey(url);

    /// <summary>The answer to a line whose body is <paramref name="body"/>; a URL nobody serves gets OpenAI's 404 for an unknown URL.</summary>
    public static BatchLineResult Answer(string url, JsonElement body, BatchLineContext context) =>
        Handlers.TryGetValue(url, out var handler)
            ? handler(body, context)
            : Error(OpenAiErrors.Create(StatusCodes.Status404NotFound, $"Invalid URL (POST {url})", "invalid_request_error", null, null));

    private static BatchLineResult ChatCompletion(JsonElement body, BatchLineContext context)
    {
        ChatCompletionRequest? request;
        try
        {
            request = body.Deserialize<ChatCompletionRequest>();
        }
        catch (JsonException)
        {
            return Error(OpenAiErrors.InvalidRequest("We could not parse the JSON body of your request. (HINT: the body must be a JSON object.)", null));
        }

        if (OpenAiApi.Validate(request, context.Options, out var messages) is { } invalid)
        {
            return Error(invalid);
        }

        var completion = OpenAiApi.Answer(request!, messages, context.Options, context.Runtime, context.Counters);
        return new BatchLineResult(
            StatusCodes.Status200OK, OpenAiApi.ToResponse(request!.Model!, completion, context.Time), completion.PromptTokens, completion.CompletionTokens);
    }

    private static BatchLineResult Embeddings(JsonElement body, BatchLineContext context)
    {
        if (EmbeddingsApi.Validate(body, context.Options) is { } invalid)
        {
            return Error(invalid);
        }
        var (model, inputs, dimensions, base64) = EmbeddingsApi.Read(body, context.Options);
        var promptTokens = inputs.Sum(SimulatorAnswers.CountTokens);
        // Parsed, so the output line holds the answer as an object, not as a JSON string.
        using var answer = JsonDocument.Parse(EmbeddingsApi.Answer(model, inputs, dimensions, base64, promptTokens));
        return new BatchLineResult(StatusCodes.Status200OK, answer.RootElement.Clone(), promptTokens);
    }

    private static BatchLineResult Error(JsonHttpResult<OpenAiErrorResponse> error) =>
        new(error.StatusCode ?? StatusCodes.Status400BadRequest, error.Value!);
}
