using System.Net;
using System.Text.Json;

namespace AspireBatch.Dashboard.Api;

/// <summary>One bad line of an uploaded file, as the Api reports it in the ProblemDetails <c>errors</c> extension.</summary>
public sealed record LineError(int Line, string Message);

/// <summary>
/// An Api answer that was not a success, read from its ProblemDetails: pages show it in a snackbar or inline,
/// never as an unhandled exception.
/// </summary>
public sealed record ApiProblem(
    int Status,
    string Title,
    string? Detail,
    IReadOnlyList<LineError> LineErrors,
    IReadOnlyDictionary<string, string[]> FieldErrors)
{
    public static ApiProblem Unreachable(string message) =>
        new(0, "The Api cannot be reached", message, [], new Dictionary<string, string[]>());

    /// <summary>Title and detail on one line, with validation messages appended.</summary>
    public string Summary
    {
        get
        {
            var parts = new List<string> { Title };
            if (!string.IsNullOrWhiteSpace(Detail) && Detail != Title)
            {
                parts.Add(Detail);
            }
            parts.AddRange(FieldErrors.SelectMany(f => f.Value.Select(m => $"{f.Key}: {m}")));
            return string.Join(" — ", parts);
        }
    }

    /// <summary>Reads a ProblemDetails body (or anything else) into a problem; never throws.</summary>
    public static ApiProblem FromResponse(int status, string? body)
    {
        var title = DefaultTitle(status);
        string? detail = null;
        var lines = new List<LineError>();
        var fields = new Dictionary<string, string[]>();
        if (!string.IsNullOrWhiteSpace(body))
        {
            try
            {
                using var document = JsonDocument.Parse(body);
                var root = document.RootElement;
                if (root.ValueKind == JsonValueKind.Object)
                {
                    if (root.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(t.GetString()))
                    {
                        title = t.GetString()!;
                    }
                    if (root.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String)
                    {
                        detail = d.GetString();
                    }
                    if (root.TryGetProperty("errors", out var errors))
                    {
                        ReadErrors(errors, lines, fields);
                    }
                }
                else
                {
                    detail = Trim(body);
                }
            }
            catch (JsonException)
            {
                detail = Trim(body);
            }
        }
        return new ApiProblem(status, title, detail, lines, fields);
    }

    private static void ReadErrors(JsonElement errors, List<LineError> lines, Dictionary<string, string[]> fields)
    {
        if (errors.ValueKind == JsonValueKind.Array)
        {
            foreach (var error in errors.EnumerateArray())
            {
                if (error.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }
                var line = error.TryGetProperty("line", out var l) && l.TryGetInt32(out var n) ? n : 0;
                var message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() ?? "" : error.ToString();
                lines.Add(new LineError(line, message));
            }
        }
        else if (errors.ValueKind == JsonValueKind.Object)
        {
            foreach (var field in errors.EnumerateObject())
            {
                fields[field.Name] = field.Value.ValueKind == JsonValueKind.Array
                    ? field.Value.EnumerateArray().Select(e => e.ToString()).ToArray()
                    : [field.Value.ToString()];
            }
        }
    }

    private static string Trim(string body) => body.Length > 500 ? body[..500] + "…" : body;

    private static string DefaultTitle(int status) => (HttpStatusCode)status switch
    {
        HttpStatusCode.BadRequest => "The request was not accepted",
        HttpStatusCode.Unauthorized => "The Api refused the Dashboard's key",
        HttpStatusCode.NotFound => "Not found",
        HttpStatusCode.Conflict => "Not allowed now",
        HttpStatusCode.TooManyRequests => "Too many requests",
        _ when status >= 500 => "The Api failed",
        _ => $"The Api answered {status}",
    };
}

public sealed class ApiProblemException(ApiProblem problem) : Exception(problem.Summary)
{
    public ApiProblem Problem { get; } = problem;
}
