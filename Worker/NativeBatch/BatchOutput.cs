using System.Net;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Worker.Execution;

namespace AspireBatch.Worker.NativeBatch;

/// <summary>One line of a provider batch's output or error file, matched to its record.</summary>
/// <param name="Answer">The provider's answer judged as a real-time answer would be; null when the line never ran.</param>
/// <param name="NeverRan">The line was not executed (expired, cancelled): no call, no charge.</param>
public sealed record BatchLineResult(long ItemId, CallResult? Answer, bool NeverRan, string? ErrorCode, string? ErrorMessage);

/// <summary>
/// Reads output and error lines in OpenAI's shape: <c>{"custom_id", "response": {"status_code", "body"}, "error"}</c>.
/// A line with a response is judged by <see cref="ResponseInterpreter"/> (the same judge as real time: an error body,
/// a refusal, an empty answer); a line with only an error never ran (e.g. <c>batch_expired</c>). Lines that cannot be
/// read or name no record of ours are skipped: their records stay unanswered and go back to the queue.
/// </summary>
public static class BatchOutput
{
    public static BatchLineResult? Parse(string line, JobEndpoint endpoint)
    {
        if (string.IsNullOrWhiteSpace(line))
        {
            return null;
        }
        try
        {
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("custom_id", out var customId) || customId.ValueKind != JsonValueKind.String
                || !long.TryParse(customId.GetString(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var itemId))
            {
                return null;
            }
            if (root.TryGetProperty("response", out var response) && response.ValueKind == JsonValueKind.Object
                && response.TryGetProperty("status_code", out var status) && status.TryGetInt32(out var statusCode))
            {
                var body = response.TryGetProperty("body", out var b) ? b.ValueKind == JsonValueKind.String ? b.GetString() ?? "" : b.GetRawText() : "";
                var answer = ResponseInterpreter.Interpret((HttpStatusCode)statusCode, null, "application/json", body, null, endpoint);
                return new BatchLineResult(itemId, answer, false, answer.ErrorCode, answer.ErrorMessage);
            }
            string? code = null, message = null;
            if (root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object)
            {
                code = error.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null;
                message = error.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            }
            return new BatchLineResult(itemId, null, true, code ?? "batch_line_not_run", message);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
