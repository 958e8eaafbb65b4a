using System.Text.Json;
using System.Text.Json.Serialization;

namespace AspireBatch.Simulator.Contracts;

// OpenAI's Files and Batch wire format (openai-openapi: OpenAIFile, ListFilesResponse, DeleteFileResponse, CreateBatchRequest,
// Batch, ListBatchesResponse, BatchRequestOutput). Null fields are written as null, as OpenAI does.

public sealed record FileObject(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("bytes")] long Bytes,
    [property: JsonPropertyName("created_at")] long CreatedAt,
    [property: JsonPropertyName("expires_at")] long? ExpiresAt,
    [property: JsonPropertyName("filename")] string Filename,
    [property: JsonPropertyName("purpose")] string Purpose,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("status_details")] string? StatusDetails);

public sealed record FileList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<FileObject> Data,
    [property: JsonPropertyName("first_id")] string? FirstId,
    [property: JsonPropertyName("last_id")] string? LastId,
    [property: JsonPropertyName("has_more")] bool HasMore);

public sealed record FileDeleted(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("deleted")] bool Deleted);

public sealed record CreateBatchRequest(
    [property: JsonPropertyName("input_file_id")] string? InputFileId,
    [property: JsonPropertyName("endpoint")] string? Endpoint,
    [property: JsonPropertyName("completion_window")] string? CompletionWindow,
    [property: JsonPropertyName("metadata")] Dictionary<string, string>? Metadata = null,
    [property: JsonPropertyName("output_expires_after")] JsonElement? OutputExpiresAfter = null);

public sealed record BatchObject(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("object")] string Object,
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
    [property: JsonPropertyName("metadata")] IReadOnlyDictionary<string, string>? Metadata);

/// <summary>Why a batch failed validation: <c>{"object":"list","data":[{code,message,param,line}]}</c>.</summary>
public sealed record BatchErrors(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<BatchError> Data);

public sealed record BatchError(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("line")] int? Line);

public sealed record BatchRequestCounts(
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("completed")] int Completed,
    [property: JsonPropertyName("failed")] int Failed);

public sealed record BatchUsage(
    [property: JsonPropertyName("input_tokens")] long InputTokens,
    [property: JsonPropertyName("input_tokens_details")] InputTokensDetails InputTokensDetails,
    [property: JsonPropertyName("output_tokens")] long OutputTokens,
    [property: JsonPropertyName("output_tokens_details")] OutputTokensDetails OutputTokensDetails,
    [property: JsonPropertyName("total_tokens")] long TotalTokens);

public sealed record InputTokensDetails([property: JsonPropertyName("cached_tokens")] long CachedTokens);

public sealed record OutputTokensDetails([property: JsonPropertyName("reasoning_tokens")] long ReasoningTokens);

public sealed record BatchList(
    [property: JsonPropertyName("object")] string Object,
    [property: JsonPropertyName("data")] IReadOnlyList<BatchObject> Data,
    [property: JsonPropertyName("first_id")] string? FirstId,
    [property: JsonPropertyName("last_id")] string? LastId,
    [property: JsonPropertyName("has_more")] bool HasMore);

/// <summary>
/// A line of a batch's output or error file. An answer, and an HTTP error such as a 500 or a 400 for a bad body, come as a
/// <see cref="Response"/> with <see cref="Error"/> null (the error's body under <c>response.body</c>, as OpenAI writes it);
/// a request that never ran (expired) has <see cref="Response"/> null and an <see cref="Error"/>.
/// </summary>
public sealed record BatchOutputLine(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("custom_id")] string CustomId,
    [property: JsonPropertyName("response")] BatchLineResponse? Response,
    [property: JsonPropertyName("error")] BatchLineError? Error);

public sealed record BatchLineResponse(
    [property: JsonPropertyName("status_code")] int StatusCode,
    [property: JsonPropertyName("request_id")] string RequestId,
    [property: JsonPropertyName("body")] object Body);

public sealed record BatchLineError(
    [property: JsonPropertyName("code")] string Code,
    [property: JsonPropertyName("message")] string Message);
