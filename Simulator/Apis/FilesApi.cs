using AspireBatch.Simulator.Contracts;
using AspireBatch.Simulator.Services;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Simulator.Apis;

/// <summary>OpenAI's <c>/v1/files</c>, in memory, as far as native batches need it (no uploads API, no expiry of files).</summary>
public static class FilesApi
{
    private const int MaxListLimit = 10_000;

    // Multipart framing around the file and the purpose field.
    private const int MultipartSlackBytes = 1024 * 1024;

    public static IEndpointRouteBuilder MapFilesApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1/files").WithTags("Files");

        api.MapPost("", UploadFile)
            .WithName("UploadFile")
            .WithSummary("Stores a multipart upload (file, purpose) in memory, up to Simulator:FileMaxBytes");

        api.MapGet("", ListFiles)
            .WithName("ListFiles")
            .WithSummary("Lists the stored files, newest first unless order=asc, with purpose, after and limit");

        api.MapGet("/{fileId}", GetFile)
            .WithName("RetrieveFile")
            .WithSummary("Returns a file object");

        api.MapGet("/{fileId}/content", GetFileContent)
            .WithName("DownloadFile")
            .WithSummary("Returns a file's bytes");

        api.MapDelete("/{fileId}", DeleteFile)
            .WithName("DeleteFile")
            .WithSummary("Deletes a file; batches that read it keep what they read");

        return app;
    }

    public static async Task<Results<Ok<FileObject>, JsonHttpResult<OpenAiErrorResponse>>> UploadFile(
        HttpContext context, [AsParameters] BatchServices services)
    {
        var options = services.Runtime.Current;
        var request = context.Request;
        if (!request.HasFormContentType)
        {
            return OpenAiErrors.InvalidRequest(
                $"Invalid Content-Type header ({request.ContentType}), expected multipart/form-data.", null);
        }

        var limit = (long)options.FileMaxBytes + MultipartSlackBytes;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = limit;
        }

        IFormCollection form;
        try
        {
            form = await request.ReadFormAsync(new FormOptions { MultipartBodyLengthLimit = limit }, context.RequestAborted);
        }
        catch (Exception ex) when (ex is BadHttpRequestException or InvalidDataException)
        {
            return TooLarge(options.FileMaxBytes);
        }

        if (form.Files.GetFile("file") is not { } upload)
        {
            return OpenAiErrors.InvalidRequest("Missing required parameter: 'file'.", "file", "missing_required_parameter");
        }

        var purpose = form["purpose"].ToString();
        if (purpose.Length == 0)
        {
            return OpenAiErrors.InvalidRequest("Missing required parameter: 'purpose'.", "purpose", "missing_required_parameter");
        }

        if (!FileStore.UploadPurposes.Contains(purpose))
        {
            return OpenAiErrors.InvalidRequest(
                $"Invalid value for 'purpose': '{purpose}'. Supported values are: {string.Join(", ", FileStore.UploadPurposes.Select(p => $"'{p}'"))}.",
                "purpose", "invalid_value");
        }

        if (upload.Length > options.FileMaxBytes)
        {
            return TooLarge(options.FileMaxBytes);
        }

        var filename = Path.GetFileName(upload.FileName);
        if (purpose == FileStore.BatchPurpose && !filename.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
        {
            return OpenAiErrors.InvalidRequest("Invalid file format for Batch API. Must be .jsonl", null);
        }

        var content = new byte[upload.Length];
        await using (var stream = upload.OpenReadStream())
        {
            await stream.ReadExactlyAsync(content, context.RequestAborted);
        }

        if (!services.Files.TryUpload(filename, purpose, content, options.FileStoreMaxBytes, out var file))
        {
            return OpenAiErrors.InvalidRequest(
                $"The simulator's file store is full ({services.Files.StoredBytes} of {options.FileStoreMaxBytes} bytes, Simulator:FileStoreMaxBytes): delete files first.",
                "file", "storage_limit_exceeded");
        }

        return TypedResults.Ok(file.ToObject());
    }

    public static Results<Ok<FileList>, JsonHttpResult<OpenAiErrorResponse>> ListFiles(
        [AsParameters] BatchServices services, string? purpose = null, int? limit = null, string? order = null, string? after = null)
    {
        var take = limit ?? MaxListLimit;
        if (take is < 1 or > MaxListLimit)
        {
            return OpenAiErrors.InvalidRequest($"Invalid 'limit': must be between 1 and {MaxListLimit}.", "limit", "invalid_value");
        }

        if (order is not (null or "asc" or "desc"))
        {
            return OpenAiErrors.InvalidRequest($"Invalid value for 'order': '{order}'. Supported values are: 'asc', 'desc'.", "order", "invalid_value");
        }

        var files = services.Files.List(purpose, order == "asc");
        var start = 0;
        if (after is not null)
        {
            start = files.FindIndex(f => f.Id == after) + 1;
            if (start == 0)
            {
                return NoSuchFile(after, "after");
            }
        }

        var page = files.Skip(start).Take(take).Select(f => f.ToObject()).ToList();
        return TypedResults.Ok(new FileList("list", page, page.FirstOrDefault()?.Id, page.LastOrDefault()?.Id, start + page.Count < files.Count));
    }

    public static Results<Ok<FileObject>, JsonHttpResult<OpenAiErrorResponse>> GetFile(string fileId, [AsParameters] BatchServices services) =>
        services.Files.TryGet(fileId, out var file) ? TypedResults.Ok(file.ToObject()) : NoSuchFile(fileId, "id");

    public static Results<FileContentHttpResult, JsonHttpResult<OpenAiErrorResponse>> GetFileContent(string fileId, [AsParameters] BatchServices services) =>
        services.Files.TryGet(fileId, out var file) ? TypedResults.Bytes(file.Content, "application/octet-stream") : NoSuchFile(fileId, "id");

    public static Results<Ok<FileDeleted>, JsonHttpResult<OpenAiErrorResponse>> DeleteFile(string fileId, [AsParameters] BatchServices services) =>
        services.Files.Delete(fileId) ? TypedResults.Ok(new FileDeleted(fileId, "file", true)) : NoSuchFile(fileId, "id");

    /// <summary>OpenAI's 404 for an unknown file id.</summary>
    public static JsonHttpResult<OpenAiErrorResponse> NoSuchFile(string fileId, string param) =>
        OpenAiErrors.Create(StatusCodes.Status404NotFound, $"No such File object: {fileId}", "invalid_request_error", param, null);

    private static JsonHttpResult<OpenAiErrorResponse> TooLarge(int maxBytes) =>
        OpenAiErrors.Create(
            StatusCodes.Status413PayloadTooLarge, $"File is too large: the simulator accepts files up to {maxBytes} bytes (Simulator:FileMaxBytes).",
            "invalid_request_error", "file", "file_too_large");
}
