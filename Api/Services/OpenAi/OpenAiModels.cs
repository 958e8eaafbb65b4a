using System.Text.Json;
using System.Text.Json.Serialization;

namespace AspireBatch.Api.Services.OpenAi;

// The objects of OpenAI's Files and Batch APIs, named as OpenAI's OpenAPI document names them
// (components/schemas Batch, BatchError, BatchRequestCounts, ListBatchesResponse, ListFilesResponse,
// DeleteFileResponse, ErrorResponse), so every OpenAI SDK reads them as it reads OpenAI's own. OpenAIFile is in
// Contracts (AspireBatch.Contracts.OpenAiFile): the Worker's retention sweeper records it too.

/// <summary>OpenAI's list object (`ListFilesResponse`, `ListBatchesResponse`).</summary>
public sealed record OpenAiList<T>(
    [property: JsonPropertyName("data")] IReadOnlyList<T> Data,
    [property: JsonPropertyName("first_id")] string? FirstId,
    [property: JsonPropertyName("last_id")] string? LastId,
    [property: JsonPropertyName("has_more")] bool HasMore)
{
    [JsonPropertyName("object")] public string Object => "list";
}

/// <summary>OpenAI's `DeleteFileResponse`.</summary>
public sealed record OpenAiFileDeleted([property: JsonPropertyName("id")] string Id)
{
    [JsonPropertyName("object")] public string Object => "file";
    [JsonPropertyName("deleted")] public bool Deleted => true;
}

/// <summary>The body of `POST /v1/batches`; documents the endpoint (the handler reads the JSON itself to answer in OpenAI's error shape).</summary>
public sealed record CreateBatchRequest(
    [property: JsonPropertyName("input_file_id")] string InputFileId,
    [property: JsonPropertyName("endpoint")] string Endpoint,
    [property: JsonPropertyName("completion_window")] string CompletionWindow,
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, string>? Metadata,
    [property: JsonPropertyName("output_expires_after")] FileExpiresAfter? OutputExpiresAfter = null);

/// <summary>OpenAI's `BatchFileExpirationAfter`: the anchor is `created_at` (the file's creation), the seconds 3600 to 2592000.</summary>
public sealed record FileExpiresAfter(
    [property: JsonPropertyName("anchor")] string Anchor,
    [property: JsonPropertyName("seconds")] int Seconds);

/// <summary>OpenAI's `Batch`: a job seen through OpenAI's Batch API.</summary>
public sealed record OpenAiBatch(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("endpoint")] string Endpoint,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("errors")] BatchErrors? Errors,
    [property: JsonPropertyName("input_file_id")] string InputFileId,
    [property: JsonPropertyName("completion_window")] string CompletionWindow,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("output_file_id")] string? OutputFileId,
    [property: JsonPropertyName("error_file_id")] string? ErrorFileId,
    [property: JsonPropertyName("created_at")] long CreatedAt,
    [property: JsonPropertyName("in_progress_at")] long? InProgressAt,
    [property: JsonPropertyName("expires_at")] long? ExpiresAt,
    [property: JsonPropertyName("finalizing_at")] long? FinalizingAt,
    [property: JsonPropertyName("completed_at")] long? CompletedAt,
    [property: JsonPropertyName("failed_at")] long? FailedAt,
    [property: JsonPropertyName("expired_at")] long? ExpiredAt,
    [property: JsonPropertyName("cancelling_at")] long? CancellingAt,
    [property: JsonPropertyName("cancelled_at")] long? CancelledAt,
    [property: JsonPropertyName("request_counts")] BatchRequestCounts RequestCounts,
    [property: JsonPropertyName("usage")] BatchUsage Usage,
    [property: JsonPropertyName("metadata")] JsonElement? Metadata)
{
    [JsonPropertyName("object")] public string Object => "batch";
}

/// <summary>`errors` of a batch whose input file failed validation.</summary>
public sealed record BatchErrors([property: JsonPropertyName("data")] IReadOnlyList<BatchError> Data)
{
    [JsonPropertyName("object")] public string Object => "list";
}

/// <summary>OpenAI's `BatchError`: one invalid line of the input file (`line` is 1-based; null for the file as a whole).</summary>
public sealed record BatchError(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("line")] int? Line);

/// <summary>`completed` counts succeeded requests, `failed` failed ones; requests cancelled before they ran count as neither.</summary>
public sealed record BatchRequestCounts(
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("completed")] int Completed,
    [property: JsonPropertyName("failed")] int Failed);

public sealed record BatchUsage(
    [property: JsonPropertyName("input_tokens")] long InputTokens,
    [property: JsonPropertyName("output_tokens")] long OutputTokens)
{
    [JsonPropertyName("total_tokens")] public long TotalTokens => InputTokens + OutputTokens;
    [JsonPropertyName("input_tokens_details")] public InputTokensDetails InputTokensDetails { get; } = new(0);
    [JsonPropertyName("output_tokens_details")] public OutputTokensDetails OutputTokensDetails { get; } = new(0);
}

public sealed record InputTokensDetails([property: JsonPropertyName("cached_tokens")] long CachedTokens);

public sealed record OutputTokensDetails([property: JsonPropertyName("reasoning_tokens")] long ReasoningTokens);

/// <summary>OpenAI's `ErrorResponse`: what every OpenAI SDK turns into its usual exception.</summary>
public sealed record OpenAiErrorResponse([property: JsonPropertyName("error")] OpenAiError Error);

public sealed record OpenAiError(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string? Code);
