using System.Text.Json;
using System.Text.Json.Serialization;

namespace AspireBatch.Simulator.Contracts;

// The subset of the OpenAI wire format the simulator speaks. Names are spelled out with JsonPropertyName
// so the shape does not depend on the host's JSON naming policy.

public sealed record ChatCompletionRequest(
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("messages")] IReadOnlyList<ChatMessageRequest>? Messages,
    [property: JsonPropertyName("max_tokens")] int? MaxTokens = null,
    [property: JsonPropertyName("max_completion_tokens")] int? MaxCompletionTokens = null,
    [property: JsonPropertyName("response_format")] ResponseFormat? ResponseFormat = null,
    [property: JsonPropertyName("stream")] bool? Stream = null);

/// <summary>A request message; <see cref="Content"/> is a string, an array of content parts, or null.</summary>
public sealed record ChatMessageRequest(
    [property: JsonPropertyName("role")] string? Role,
    [property: JsonPropertyName("content")] JsonElement Content);

public sealed record ResponseFormat(
    [property: JsonPropertyName("type")] string? Type,
    [property: JsonPropertyName("json_schema")] JsonSchemaFormat? JsonSchema = null);

/// <summary>OpenAI's <c>response_format.json_schema</c>: a name, the schema, and whether the model must follow it strictly.</summary>
public sealed record JsonSchemaFormat(
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("schema")] JsonElement? Schema = null,
    [property: JsonPropertyName("strict")] bool? Strict = null);

public sealed record ChatCompletionResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatChoice> Choices,
    [property: JsonPropertyName("usage")] ChatUsage Usage);

public sealed record ChatChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] ChatMessageResponse Message,
    [property: JsonPropertyName("finish_reason")] string FinishReason);

public sealed record ChatMessageResponse(
    [property: JsonPropertyName("role")] string Role,
    [property: JsonPropertyName("content")] string Content);

public sealed record ChatUsage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens,
    [property: JsonPropertyName("total_tokens")] int TotalTokens);

public sealed record ModelList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<ModelInfo> Data);

public sealed record ModelInfo(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("owned_by")] string OwnedBy);

public sealed record OpenAiErrorResponse([property: JsonPropertyName("error")] OpenAiError Error);

public sealed record OpenAiError(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
