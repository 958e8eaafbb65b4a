using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;

namespace AspireBatch.Worker.Execution;

/// <summary>
/// Judges what a provider sent back. Real OpenAI-compatible providers answer untidily: HTML, plain-text or empty
/// error pages from the proxies in front of them, several JSON error envelopes, a 200 that holds an error or a
/// refusal, an event stream nobody asked for, no usage. The body is always kept as text; only its meaning is read
/// here. What is retried and what is charged is written down in docs/decisions.md.
/// </summary>
public static partial class ResponseInterpreter
{
    /// <summary>How much of an unusable body is kept for the ledger and the exports.</summary>
    public const int MaxStoredErrorBody = 2000;

    public static CallResult Interpret(HttpStatusCode statusCode, string? reasonPhrase, string? contentType, string body, TimeSpan? retryAfter,
        JobEndpoint endpoint = JobEndpoint.ChatCompletions)
    {
        var status = (int)statusCode;
        if (status is < 200 or > 299)
        {
            return Refused(status, reasonPhrase, body, retryAfter);
        }
        if (endpoint == JobEndpoint.Embeddings)
        {
            return FromEmbeddings(status, body);
        }
        if (IsEventStream(contentType, body))
        {
            return FromEventStream(status, body);
        }
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(body);
        }
        catch (JsonException e)
        {
            return Malformed(status, body, $"the provider's answer is not JSON: {e.Message}");
        }
        if (root is not JsonObject answer)
        {
            return Malformed(status, body, "the provider's answer is not a JSON object");
        }
        try
        {
            return FromCompletion(status, body, answer);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or JsonException)
        {
            return Malformed(status, body, $"the provider's answer is not a chat completion: {e.Message}");
        }
    }

    /// <summary>A non-2xx answer: retried when the provider (or a proxy in front of it) may answer the next time.</summary>
    private static CallResult Refused(int status, string? reasonPhrase, string body, TimeSpan? retryAfter)
    {
        var (message, code) = ErrorOf(body);
        message ??= reasonPhrase is { Length: > 0 } ? reasonPhrase : $"HTTP {status}";
        var stored = Shorten(body);
        // 429 insufficient_quota is OpenAI's "out of credit": waiting does not bring credit back.
        if (status == 429 && code == "insufficient_quota")
        {
            return new CallResult(status, stored, "insufficient_quota", message, false, retryAfter);
        }
        // Azure answers a filtered prompt with 400 and code content_filter: the same prompt is filtered again.
        if (code == "content_filter")
        {
            return new CallResult(status, stored, "content_filter", message, false, retryAfter);
        }
        return new CallResult(status, stored, $"http_{status}", message, IsRetryable(status), retryAfter);
    }

    /// <summary>408, 409, 429, 499 (the client side of a proxy gave up) and every 5xx (502-504, Cloudflare's 520-524, 529 overloaded).</summary>
    public static bool IsRetryable(int status) => status is 408 or 409 or 429 or 499 or >= 500;

    private static CallResult FromCompletion(int status, string body, JsonObject root)
    {
        var usage = UsageOf(root["usage"]);
        if (root["choices"] is not JsonArray choices)
        {
            // A 200 that carries an error object (gateways that already sent their headers).
            if (root["error"] is { } error)
            {
                var (errorMessage, code) = ErrorOf(body);
                var retryable = code is null || !int.TryParse(code, out var number) || IsRetryable(number) || number < 400;
                return new CallResult(status, Shorten(body), "provider_error", errorMessage ?? error.ToJsonString(), retryable, null);
            }
            return Malformed(status, body, "the answer has no choices");
        }
        if (choices.Count == 0 || choices[0] is not JsonObject choice)
        {
            return new CallResult(status, body, "empty_choices", "the provider answered with no choices", true, null) with { Usage = usage };
        }
        var message = choice["message"] as JsonObject;
        var text = StringOf(message?["content"]);
        var finishReason = StringOf(choice["finish_reason"]);
        var model = StringOf(root["model"]);
        var id = StringOf(root["id"]);
        if (StringOf(message?["refusal"]) is { Length: > 0 } refusal && string.IsNullOrEmpty(text))
        {
            return new CallResult(status, body, "refusal", refusal, false, null, refusal, finishReason, ResponseModel: model, ResponseId: id) { Usage = usage };
        }
        if (finishReason == "content_filter")
        {
            return new CallResult(status, body, "content_filter", "the provider's content filter stopped the answer", false, null,
                text, finishReason, ResponseModel: model, ResponseId: id) { Usage = usage };
        }
        return new CallResult(status, body, null, null, false, null, text ?? "", finishReason, ResponseModel: model, ResponseId: id) { Usage = usage };
    }

    /// <summary>
    /// An embeddings list: <c>data[].embedding</c> as numbers or as base64 float32 (OpenAI's two encodings), put in
    /// <c>index</c> order, all of one size. The body is not kept on success: it is the vectors again, as text, and the
    /// vectors are stored. A 200 holding an error, a vector missing or of another size is an unusable answer (retried).
    /// </summary>
    private static CallResult FromEmbeddings(int status, string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Malformed(status, body, "the provider's answer is not a JSON object");
            }
            if (!root.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Array)
            {
                if (root.TryGetProperty("error", out _))
                {
                    var (errorMessage, _) = ErrorOf(body);
                    return new CallResult(status, Shorten(body), "provider_error", errorMessage ?? "the provider answered with an error", true, null);
                }
                return Malformed(status, body, "the answer has no data list of embeddings");
            }
            var vectors = new List<(int Index, float[] Vector)>();
            foreach (var entry in data.EnumerateArray())
            {
                if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty("embedding", out var embedding))
                {
                    return Malformed(status, body, $"data[{vectors.Count}] has no embedding");
                }
                var vector = embedding.ValueKind switch
                {
                    JsonValueKind.String => Embeddings.FromBase64(embedding.GetString()!),
                    JsonValueKind.Array => embedding.EnumerateArray().Select(v => v.GetSingle()).ToArray(),
                    _ => [],
                };
                var index = entry.TryGetProperty("index", out var i) && i.TryGetInt32(out var n) ? n : vectors.Count;
                vectors.Add((index, vector));
            }
            if (vectors.Count == 0 || vectors[0].Vector.Length == 0 || vectors.Any(v => v.Vector.Length != vectors[0].Vector.Length))
            {
                return Malformed(status, body, vectors.Count == 0 ? "the answer holds no embeddings" : "the answer's embeddings are empty or of different sizes");
            }
            var usage = root.TryGetProperty("usage", out var usageElement) ? UsageOf(JsonNode.Parse(usageElement.GetRawText())) : null;
            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            var id = root.TryGetProperty("id", out var idElement) && idElement.ValueKind == JsonValueKind.String ? idElement.GetString() : null;
            return new CallResult(status, null, null, null, false, null, ResponseModel: model, ResponseId: id)
            {
                Usage = usage,
                Vectors = [.. vectors.OrderBy(v => v.Index).Select(v => v.Vector)],
            };
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return Malformed(status, body, $"the provider's answer is not an embeddings list: {e.Message}");
        }
    }

    /// <summary>An event stream sent although no stream was asked: its chunks are put together into one answer.</summary>
    private static CallResult FromEventStream(int status, string body)
    {
        var text = new StringBuilder();
        string? finishReason = null, model = null, id = null;
        ReportedUsage? usage = null;
        try
        {
            foreach (var line in body.Split('\n'))
            {
                var trimmed = line.Trim();
                if (!trimmed.StartsWith("data:", StringComparison.Ordinal))
                {
                    continue;
                }
                var data = trimmed[5..].Trim();
                if (data == "[DONE]" || data.Length == 0)
                {
                    continue;
                }
                if (JsonNode.Parse(data) is not JsonObject chunk)
                {
                    continue;
                }
                if (chunk["error"] is not null && chunk["choices"] is null)
                {
                    var (message, _) = ErrorOf(data);
                    return new CallResult(status, Shorten(body), "provider_error", message ?? "the stream carried an error", true, null);
                }
                model ??= StringOf(chunk["model"]);
                id ??= StringOf(chunk["id"]);
                usage = UsageOf(chunk["usage"]) ?? usage;
                if (chunk["choices"] is JsonArray { Count: > 0 } choices && choices[0] is JsonObject choice)
                {
                    text.Append(StringOf(choice["delta"]?["content"]));
                    finishReason = StringOf(choice["finish_reason"]) ?? finishReason;
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return Malformed(status, body, $"the provider's event stream is broken: {e.Message}");
        }
        if (id is null && text.Length == 0)
        {
            return Malformed(status, body, "the provider's event stream holds no answer");
        }
        return new CallResult(status, body, null, null, false, null, text.ToString(), finishReason, ResponseModel: model, ResponseId: id) { Usage = usage };
    }

    private static CallResult Malformed(int status, string body, string message) =>
        new(status, Shorten(body), "malformed_response", message, true, null);

    private static bool IsEventStream(string? contentType, string body) =>
        contentType?.StartsWith("text/event-stream", StringComparison.OrdinalIgnoreCase) == true
        || body.AsSpan().TrimStart().StartsWith("data:", StringComparison.Ordinal);

    /// <summary>Token counts as reported, in OpenAI's fields or DeepSeek's (prompt_cache_hit_tokens).</summary>
    private static ReportedUsage? UsageOf(JsonNode? node)
    {
        if (node is not JsonObject usage || IntOf(usage["prompt_tokens"]) is not { } input)
        {
            return null;
        }
        var output = IntOf(usage["completion_tokens"]) ?? Math.Max(0, (IntOf(usage["total_tokens"]) ?? input) - input);
        var cached = IntOf(usage["prompt_tokens_details"]?["cached_tokens"]) ?? IntOf(usage["prompt_cache_hit_tokens"]);
        var reasoning = IntOf(usage["completion_tokens_details"]?["reasoning_tokens"]);
        return new ReportedUsage(input, output, cached, reasoning);
    }

    /// <summary>
    /// The message and code of an error body in any of the envelopes seen: OpenAI/Azure/Anthropic
    /// (<c>{"error":{"message","code"|"type"}}</c>), Gemini's array (<c>[{"error":{...}}]</c>), vLLM
    /// (<c>{"object":"error","message"}</c>), Ollama (<c>{"error":"..."}</c>); else the title of an HTML page or the text.
    /// </summary>
    public static (string? Message, string? Code) ErrorOf(string body)
    {
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null);
        }
        try
        {
            var root = JsonNode.Parse(body);
            if (root is JsonArray { Count: > 0 } array)
            {
                root = array[0];
            }
            if (root is JsonObject envelope)
            {
                var error = envelope["error"];
                if (error is JsonValue)
                {
                    return (StringOf(error), null);
                }
                var source = error as JsonObject ?? envelope;
                var code = StringOf(source["code"]) ?? StringOf(source["type"]) ?? StringOf(source["status"]);
                return (StringOf(source["message"]) ?? StringOf(envelope["detail"]), code);
            }
        }
        catch (JsonException)
        {
        }
        if (HtmlTitle().Match(body) is { Success: true } title)
        {
            return ($"the provider answered with an HTML page: {WebUtility.HtmlDecode(title.Groups[1].Value).Trim()}", null);
        }
        if (body.Contains("<html", StringComparison.OrdinalIgnoreCase))
        {
            return ("the provider answered with an HTML page", null);
        }
        return (Shorten(body.Trim(), 300), null);
    }

    private static string? StringOf(JsonNode? node) => node is JsonValue value
        ? value.GetValueKind() switch
        {
            JsonValueKind.String => value.GetValue<string>(),
            JsonValueKind.Number => value.ToJsonString(),
            _ => null,
        }
        : null;

    private static int? IntOf(JsonNode? node) =>
        node is JsonValue value && value.GetValueKind() == JsonValueKind.Number && value.TryGetValue<int>(out var number) ? number : null;

    private static string Shorten(string text, int max = MaxStoredErrorBody) => text.Length > max ? text[..max] : text;

    [GeneratedRegex("<title>(.*?)</title>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex HtmlTitle();
}

/// <summary>Token counts a provider reported; cached input and reasoning tokens are part of input and output.</summary>
public sealed record ReportedUsage(int InputTokens, int OutputTokens, int? CachedInputTokens, int? ReasoningTokens);
