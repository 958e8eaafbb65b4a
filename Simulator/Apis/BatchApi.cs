using System.Text.Json;
using AspireBatch.Simulator.Contracts;
using AspireBatch.Simulator.Services;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Simulator.Apis;

/// <summary>
/// OpenAI's native batches (<c>/v1/batches</c>): a JSONL file of requests answered within a turnaround, each line exactly as
/// the real-time endpoint of its URL would answer it (see <see cref="BatchLines"/>), results in output and error files.
/// What the request itself gets wrong is a 400 at once; what the file gets wrong fails the batch during validation, as at OpenAI.
/// </summary>
public static class BatchApi
{
    private const int DefaultListLimit = 20;
    private const int MaxListLimit = 100;
    private const int MaxMetadataPairs = 16;
    private const int MaxMetadataKeyLength = 64;
    private const int MaxMetadataValueLength = 512;

    public static IEndpointRouteBuilder MapBatchApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/batches").WithTags("Batch");

        api.MapPost("", CreateBatch)
            .WithName("CreateBatch")
            .WithSummary("Creates a batch from an uploaded file of requests; it is validated and answered in the background");

        api.MapGet("", ListBatches)
            .WithName("ListBatches")
            .WithSummary("Lists batches, newest first, with after and limit");

        api.MapGet("/{batchId}", GetBatch)
            .WithName("RetrieveBatch")
            .WithSummary("Returns a batch object");

        api.MapPost("/{batchId}/cancel", CancelBatch)
            .WithName("CancelBatch")
            .WithSummary("Cancels a validating or running batch: lines not answered yet are never answered");

        return app;
    }

    public static async Task<Results<Ok<BatchObject>, JsonHttpResult<OpenAiErrorResponse>>> CreateBatch(
        HttpRequest request, [AsParameters] BatchServices services)
    {
        CreateBatchRequest? body;
        try
        {
            body = await request.ReadFromJsonAsync<CreateBatchRequest>(request.HttpContext.RequestAborted);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return OpenAiErrors.InvalidRequest("We could not parse the JSON body of your request. (HINT: the body must be a JSON object sent as application/json.)", null);
        }

        if (body is null)
        {
            return OpenAiErrors.InvalidRequest("The request body must be a JSON object.", null);
        }

        if (string.IsNullOrEmpty(body.InputFileId))
        {
            return OpenAiErrors.InvalidRequest("Missing required parameter: 'input_file_id'.", "input_file_id", "missing_required_parameter");
        }

        if (string.IsNullOrEmpty(body.Endpoint))
        {
            return OpenAiErrors.InvalidRequest("Missing required parameter: 'endpoint'.", "endpoint", "missing_required_parameter");
        }

        if (!BatchLines.Serves(body.Endpoint))
        {
            return OpenAiErrors.InvalidRequest(
                $"Invalid value for 'endpoint': '{body.Endpoint}'. The simulator serves batches for: {string.Join(", ", BatchLines.Endpoints.Select(e => $"'{e}'"))}.",
                "endpoint", "invalid_value");
        }

        if (string.IsNullOrEmpty(body.CompletionWindow))
        {
            return OpenAiErrors.InvalidRequest("Missing required parameter: 'completion_window'.", "completion_window", "missing_required_parameter");
        }

        if (body.CompletionWindow != BatchStore.CompletionWindow)
        {
            return OpenAiErrors.InvalidRequest(
                $"Invalid value for 'completion_window': '{body.CompletionWindow}'. Supported values are: '{BatchStore.CompletionWindow}'.",
                "completion_window", "invalid_value");
        }

        if (InvalidMetadata(body.Metadata) is { } invalid)
        {
            return invalid;
        }

        if (!services.Files.TryGet(body.InputFileId, out var input))
        {
            return OpenAiErrors.InvalidRequest($"No such File object: {body.InputFileId}", "input_file_id", "invalid_value");
        }

        if (input.Purpose != FileStore.BatchPurpose)
        {
            return OpenAiErrors.InvalidRequest(
                $"The input file {input.Id} has purpose '{input.Purpose}'; a batch's input file must be uploaded with purpose '{FileStore.BatchPurpose}'.",
                "input_file_id", "invalid_value");
        }

        return TypedResults.Ok(services.Batches.Create(input, body.Endpoint, body.Metadata, services.Runtime.Current));
    }

    public static Results<Ok<BatchList>, JsonHttpResult<OpenAiErrorResponse>> ListBatches(
        [AsParameters] BatchServices services, string? after = null, int? limit = null)
    {
        var take = limit ?? DefaultListLimit;
        if (take is < 1 or > MaxListLimit)
        {
            return OpenAiErrors.InvalidRequest($"Invalid 'limit': must be between 1 and {MaxListLimit}.", "limit", "invalid_value");
        }

        return services.Batches.TryList(after, take, out var list) ? TypedResults.Ok(list) : NoSuchBatch(after!, "after");
    }

    public static Results<Ok<BatchObject>, JsonHttpResult<OpenAiErrorResponse>> GetBatch(string batchId, [AsParameters] BatchServices services) =>
        services.Batches.Get(batchId) is { } batch ? TypedResults.Ok(batch) : NoSuchBatch(batchId, null);

    /// <summary>
    /// OpenAI answers a cancel of a completed batch with 409 <c>Cannot cancel a batch with status 'completed'.</c>; a cancel of a
    /// cancelling or cancelled batch returns it, as AspireBatch's own /v1/batches does.
    /// </summary>
    public static Results<Ok<BatchObject>, JsonHttpResult<OpenAiErrorResponse>> CancelBatch(string batchId, [AsParameters] BatchServices services)
    {
        if (services.Batches.Cancel(batchId, out var endedAs) is not { } batch)
        {
            return NoSuchBatch(batchId, null);
        }

        return endedAs is null
            ? TypedResults.Ok(batch)
            : OpenAiErrors.Create(StatusCodes.Status409Conflict, $"Cannot cancel a batch with status '{endedAs}'.", "invalid_request_error", null, null);
    }

    private static JsonHttpResult<OpenAiErrorResponse> NoSuchBatch(string batchId, string? param) =>
        OpenAiErrors.Create(StatusCodes.Status404NotFound, $"No such Batch object: {batchId}", "invalid_request_error", param, null);

    private static JsonHttpResult<OpenAiErrorResponse>? InvalidMetadata(Dictionary<string, string>? metadata)
    {
        if (metadata is null)
        {
            return null;
        }

        if (metadata.Count > MaxMetadataPairs)
        {
            return OpenAiErrors.InvalidRequest(
                $"Invalid 'metadata': too many properties. Expected an object with at most {MaxMetadataPairs} properties, but got {metadata.Count} instead.",
                "metadata", "object_above_max_properties");
        }

        foreach (var (key, value) in metadata)
        {
            if (key.Length > MaxMetadataKeyLength)
            {
                return OpenAiErrors.InvalidRequest(
                    $"Invalid 'metadata': a key is longer than {MaxMetadataKeyLength} characters ('{key[..16]}...').", "metadata", "invalid_value");
            }

            if (value is null || value.Length > MaxMetadataValueLength)
            {
                return OpenAiErrors.InvalidRequest(
                    $"Invalid 'metadata.{key}': values must be strings of at most {MaxMetadataValueLength} characters.", $"metadata.{key}", "invalid_value");
            }
        }

        return null;
    }
}
