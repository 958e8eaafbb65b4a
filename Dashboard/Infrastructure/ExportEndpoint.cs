using AspireBatch.Dashboard.Api;

namespace AspireBatch.Dashboard.Infrastructure;

/// <summary>
/// Streams a job's results (or a rehearsal's comparison) from the Api to the operator's browser: the Api needs the bearer key, which stays on the server,
/// so the download goes through the Dashboard without being buffered.
/// </summary>
public static class ExportEndpoint
{
    public static void MapExportEndpoint(this WebApplication app)
    {
        app.MapGet("/export/{id:guid}", Export).RequireAuthorization();
        app.MapGet("/export/rehearsals/{id:guid}", ExportRehearsal).RequireAuthorization();
    }

    public static Task<IResult> Export(Guid id, BatchApiClient api, HttpContext context, string format = "jsonl", bool lineage = false, string? fields = null) =>
        StreamAsync(token => api.OpenExportAsync(id, format, lineage, token, fields), $"job-{id}.{(format == "csv" ? "csv" : "jsonl")}", context);

    public static Task<IResult> ExportRehearsal(Guid id, BatchApiClient api, HttpContext context, string format = "json") =>
        StreamAsync(token => api.OpenRehearsalExportAsync(id, format, token), $"rehearsal-{id}.{(format == "csv" ? "csv" : "json")}", context);

    private static async Task<IResult> StreamAsync(Func<CancellationToken, Task<ExportStream>> open, string fallbackName, HttpContext context)
    {
        ExportStream export;
        try
        {
            export = await open(context.RequestAborted);
        }
        catch (ApiProblemException e)
        {
            return Results.Problem(e.Problem.Detail, title: e.Problem.Title, statusCode: e.Problem.Status is >= 400 and < 600 ? e.Problem.Status : 502);
        }
        return Results.Stream(async output =>
        {
            await using (export)
            {
                await export.Content.CopyToAsync(output, context.RequestAborted);
            }
        }, export.ContentType, export.FileName ?? fallbackName);
    }
}
