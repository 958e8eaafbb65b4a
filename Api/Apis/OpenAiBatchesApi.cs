using AspireBatch.Api.Infrastructure;
using AspireBatch.Api.Services.Access;
using AspireBatch.Contracts;
using System.Globalization;
using System.Text.Json;
using AspireBatch.Api.Services.OpenAi;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Api.Apis;

/// <summary>
/// OpenAI's Batch API: existing OpenAI batch code runs here after changing its base URL and key. A batch is a job,
/// so it runs at the provider's pace with our retries, fallback and cost tracking, and shows in the Dashboard.
/// </summary>
public static class OpenAiBatchesApi
{
    /// <summary>Maps OpenAI's Files and Batches endpoints under /v1.</summary>
    public static IEndpointRouteBuilder MapOpenAiBatchApi(this IEndpointRouteBuilder app)
    {
        app.MapOpenAiFilesApi();
        var api = app.MapGroup("/v1/batches").WithTags("OpenAI Batch API").RequireScope(ApiScopes.Batches).OwnedBatches().Audited(AuditResourceTypes.Batch);

        api.MapPost("/", CreateBatch).WithName("OpenAiCreateBatch")
            .Accepts<CreateBatchRequest>("application/json")
            .WithSummary("Create a batch from an uploaded file (OpenAI Batch API)")
            .WithDescription("`{\"input_file_id\":\"file-…\",\"endpoint\":\"/v1/chat/completions\",\"completion_window\":\"24h\",\"metadata\":{…}}`. " +
                "The lines' `model` may be any model, alias or route. A file with invalid lines gives a `failed` batch whose `errors` name the lines. " +
                "With an `Idempotency-Key` header a retried request answers 200 with the batch the first one created and creates nothing.")
            .WithIdempotencyKeyHeader();
        api.MapGet("/", ListBatches).WithName("OpenAiListBatches").WithSummary("List batches, newest first (`after` a batch id, `limit` 1-100, default 20)");
        api.MapGet("/{id}", GetBatch).WithName("OpenAiGetBatch").WithSummary("A batch with its status, request counts, usage and files");
        api.MapPost("/{id}/cancel", CancelBatch).WithName("OpenAiCancelBatch")
            .WithSummary("Cancel a batch: `cancelling` while started requests finish, then `cancelled`; finished results stay in its files");
        return app;
    }

    public static async Task<Results<Ok<OpenAiBatch>, JsonHttpResult<OpenAiErrorResponse>>> CreateBatch(
        HttpRequest request, BatchService batches, CancellationToken cancellationToken)
    {
        if (!IdempotencyKey.TryRead(request.Headers, out var key, out var keyError))
        {
            return OpenAiFailure.BadRequest(keyError!, IdempotencyKey.Header, "invalid_value").ToResult();
        }
        if (key is not null && await batches.FindByKeyAsync(key, cancellationToken) is { } earlier)
        {
            request.HttpContext.Response.Headers[IdempotencyKey.ReplayedHeader] = "true";
            return TypedResults.Ok(earlier);
        }
        JsonDocument body;
        try
        {
            body = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException)
        {
            return OpenAiFailure.BadRequest("We could not parse the JSON body of your request. Send a JSON object with input_file_id, endpoint and completion_window.")
                .ToResult();
        }
        using (body)
        {
            var outcome = await batches.CreateAsync(body.RootElement, key, cancellationToken);
            if (outcome.Replayed)
            {
                request.HttpContext.Response.Headers[IdempotencyKey.ReplayedHeader] = "true";
            }
            return Answer(outcome);
        }
    }

    public static async Task<Results<Ok<OpenAiList<OpenAiBatch>>, JsonHttpResult<OpenAiErrorResponse>>> ListBatches(
        BatchService batches, string? after, string? limit, CancellationToken cancellationToken)
    {
        var count = BatchService.DefaultListLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > BatchService.MaxListLimit))
        {
            return OpenAiFailure.BadRequest($"Invalid 'limit': must be an integer between 1 and {BatchService.MaxListLimit}.", "limit", "invalid_value").ToResult();
        }
        return await batches.ListAsync(after, count, cancellationToken) is { } list
            ? TypedResults.Ok(list)
            : OpenAiFailure.BadRequest($"Invalid 'after': no batch {after}.", "after", "invalid_value").ToResult();
    }

    public static async Task<Results<Ok<OpenAiBatch>, JsonHttpResult<OpenAiErrorResponse>>> GetBatch(
        string id, BatchService batches, CancellationToken cancellationToken) =>
        await batches.GetAsync(id, cancellationToken) is { } batch
            ? TypedResults.Ok(batch)
            : OpenAiFailure.NotFound($"No such Batch object: {id}", "batch_id").ToResult();

    public static async Task<Results<Ok<OpenAiBatch>, JsonHttpResult<OpenAiErrorResponse>>> CancelBatch(
        string id, BatchService batches, CancellationToken cancellationToken) =>
        Answer(await batches.CancelAsync(id, cancellationToken));

    private static Results<Ok<OpenAiBatch>, JsonHttpResult<OpenAiErrorResponse>> Answer(BatchOutcome outcome) =>
        outcome.Batch is { } batch ? TypedResults.Ok(batch) : outcome.Failure!.ToResult();
}
