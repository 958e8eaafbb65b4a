using AspireBatch.Api.Services.Access;
using AspireBatch.Contracts;
using System.Globalization;
using AspireBatch.Api.Infrastructure;
using AspireBatch.Api.Services.OpenAi;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace AspireBatch.Api.Apis;

/// <summary>The multipart form of `POST /v1/files`, for the OpenAPI document (the handler reads the form itself).</summary>
public sealed class OpenAiUploadForm
{
    public IFormFile? File { get; set; }
    /// <summary>Must be `batch`.</summary>
    public string? Purpose { get; set; }
    /// <summary>Optional, with `expires_after[seconds]`: must be `created_at` (the file's creation).</summary>
    [System.Text.Json.Serialization.JsonPropertyName("expires_after[anchor]")]
    public string? ExpiresAfterAnchor { get; set; }
    /// <summary>Optional: the file expires this many seconds after its creation, 3600 (1 hour) to 2592000 (30 days).</summary>
    [System.Text.Json.Serialization.JsonPropertyName("expires_after[seconds]")]
    public int? ExpiresAfterSeconds { get; set; }
}

/// <summary>OpenAI's Files API, for batch input files and the output and error files of batches.</summary>
public static class OpenAiFilesApi
{
    public static RouteGroupBuilder MapOpenAiFilesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/files").WithTags("OpenAI Batch API").RequireScope(ApiScopes.Batches).OwnedFiles().Audited(AuditResourceTypes.File);

        api.MapPost("/", UploadFile).WithName("OpenAiUploadFile").DisableAntiforgery()
            .Accepts<OpenAiUploadForm>("multipart/form-data")
            .WithSummary("Upload a Batch API input file (OpenAI Files API)")
            .WithDescription("Multipart form: `file` (OpenAI Batch JSONL) and `purpose=batch`; optionally `expires_after[anchor]=created_at` and " +
                "`expires_after[seconds]` (3600 to 2592000): from `expires_at` on the file answers 404 and is then deleted. Answers OpenAI's file object.");
        api.MapGet("/", ListFiles).WithName("OpenAiListFiles")
            .WithSummary("List files, newest first (`purpose`, `limit` 1-10000, `order` asc|desc, `after` a file id)");
        api.MapGet("/{id}", GetFile).WithName("OpenAiGetFile").WithSummary("A file object; 404 once it has expired");
        api.MapGet("/{id}/content", DownloadFile).WithName("OpenAiDownloadFile")
            .WithSummary("Stream a file's content; a batch's output and error files are produced from its results as they are read");
        api.MapDelete("/{id}", DeleteFile).WithName("OpenAiDeleteFile").WithSummary("Delete a file");
        return api;
    }

    public static async Task<Results<Ok<OpenAiFile>, JsonHttpResult<OpenAiErrorResponse>>> UploadFile(
        HttpRequest request, [AsParameters] OpenAiFileServices services, CancellationToken cancellationToken)
    {
        if (!request.HasFormContentType)
        {
            return OpenAiFailure.BadRequest("Send the file as multipart/form-data with the fields `file` and `purpose`.").ToResult();
        }
        var form = await request.ReadFormAsync(cancellationToken);
        var purpose = form["purpose"].ToString();
        if (string.IsNullOrEmpty(purpose))
        {
            return OpenAiFailure.BadRequest("Missing required parameter: 'purpose'.", "purpose", "missing_required_parameter").ToResult();
        }
        if (purpose != FileStore.BatchPurpose)
        {
            return OpenAiFailure.BadRequest($"Invalid value for 'purpose': '{purpose}'. AspireBatch keeps files for the Batch API only: use 'batch'.",
                "purpose", "invalid_value").ToResult();
        }
        if (ExpiresAfter.FromForm(form, out var expiresAfterSeconds) is { } badExpiry)
        {
            return badExpiry.ToResult();
        }
        if (form.Files.GetFile("file") is not { } file)
        {
            return OpenAiFailure.BadRequest("Missing required parameter: 'file'.", "file", "missing_required_parameter").ToResult();
        }
        if (file.Length == 0)
        {
            return OpenAiFailure.BadRequest("The file is empty.", "file", "invalid_value").ToResult();
        }
        var limit = services.Options.Value.MaxUploadBytes;
        if (file.Length > limit)
        {
            return OpenAiFailure.BadRequest($"The file is larger than the limit of {limit:N0} bytes (Api:MaxUploadBytes).", "file", "file_too_large").ToResult();
        }
        var name = Path.GetFileName(file.FileName);
        name = name.Length > 500 ? name[..500] : name;
        await using var content = file.OpenReadStream();
        return TypedResults.Ok(await services.Files.UploadAsync(name, purpose, content, file.Length, expiresAfterSeconds, cancellationToken));
    }

    public static async Task<Results<Ok<OpenAiList<OpenAiFile>>, JsonHttpResult<OpenAiErrorResponse>>> ListFiles(
        [AsParameters] OpenAiFileServices services, string? purpose, string? limit, string? order, string? after, CancellationToken cancellationToken)
    {
        var count = FileStore.MaxListLimit;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count is < 1 or > FileStore.MaxListLimit))
        {
            return OpenAiFailure.BadRequest($"Invalid 'limit': must be an integer between 1 and {FileStore.MaxListLimit}.", "limit", "invalid_value").ToResult();
        }
        if (order is not (null or "asc" or "desc"))
        {
            return OpenAiFailure.BadRequest($"Invalid value for 'order': '{order}'. Supported values are: 'asc' and 'desc'.", "order", "invalid_value").ToResult();
        }
        return await services.Files.ListAsync(purpose, count, order == "asc", after, cancellationToken) is { } list
            ? TypedResults.Ok(list)
            : OpenAiFailure.BadRequest($"Invalid 'after': no file {after}.", "after", "invalid_value").ToResult();
    }

    public static async Task<Results<Ok<OpenAiFile>, JsonHttpResult<OpenAiErrorResponse>>> GetFile(
        string id, [AsParameters] OpenAiFileServices services, CancellationToken cancellationToken) =>
        await services.Files.GetAsync(id, cancellationToken) is { } file ? TypedResults.Ok(file) : FileNotFound(id);

    public static async Task<Results<PushStreamHttpResult, JsonHttpResult<OpenAiErrorResponse>>> DownloadFile(
        string id, [AsParameters] OpenAiFileServices services, CancellationToken cancellationToken)
    {
        if (await services.Files.FindSourceAsync(id, cancellationToken) is not { } source)
        {
            return FileNotFound(id);
        }
        if (await services.Files.PurgedAtAsync(source, cancellationToken) is { } purgedAt)
        {
            return OpenAiFailure.Gone($"The batch's records and answers were purged at {purgedAt:u}; its counts and cost remain on the batch.", "file_id").ToResult();
        }
        return TypedResults.Stream(stream => services.Files.WriteContentAsync(source, stream, cancellationToken), "application/octet-stream");
    }

    public static async Task<Results<Ok<OpenAiFileDeleted>, JsonHttpResult<OpenAiErrorResponse>>> DeleteFile(
        string id, [AsParameters] OpenAiFileServices services, CancellationToken cancellationToken) =>
        await services.Files.DeleteAsync(id, cancellationToken) ? TypedResults.Ok(new OpenAiFileDeleted(id)) : FileNotFound(id);

    private static JsonHttpResult<OpenAiErrorResponse> FileNotFound(string id) => OpenAiFailure.NotFound($"No such File object: {id}", "id").ToResult();

    /// <summary>OpenAI's error body with its status code, which SDKs turn into their usual exceptions.</summary>
    internal static JsonHttpResult<OpenAiErrorResponse> ToResult(this OpenAiFailure failure) =>
        TypedResults.Json(failure.ToResponse(), statusCode: failure.StatusCode);
}

public sealed class OpenAiFileServices(FileStore files, IOptions<ApiOptions> options)
{
    public FileStore Files { get; } = files;
    public IOptions<ApiOptions> Options { get; } = options;
}
