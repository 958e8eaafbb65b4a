using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AspireBatch.Simulator.Contracts;
using AspireBatch.Simulator.Services;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Simulator.Apis;

/// <summary>
/// OpenAI's <c>POST /v1/embeddings</c>: validate (400/404), rate limits (429), latency, one fault draw (500/503/429/
/// hang/reset/malformed body), then one deterministic unit vector per input. Corpus replays are chat shapes and are
/// not drawn here.
/// </summary>
public static class EmbeddingsApi
{
    public static async Task<Results<ContentHttpResult, JsonHttpResult<OpenAiErrorResponse>, EmptyHttpResult>> CreateEmbeddings(
        HttpContext context, [AsParameters] SimulatorServices services)
    {
        var cancellationToken = context.RequestAborted;
        var options = services.Runtime.Current;
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException)
        {
            return OpenAiErrors.InvalidRequest("We could not parse the JSON body of your request. (HINT: the body must be a JSON object sent as application/json.)", null);
        }
        using var _ = document;
        if (Validate(document.RootElement, options) is { } invalid)
        {
            return invalid;
        }
        var (model, inputs, dimensions, base64) = Read(document.RootElement, options);
        var promptTokens = inputs.Sum(SimulatorAnswers.CountTokens);

        var decision = services.RateLimiter.TryAcquire(options.RequestsPerMinute, options.TokensPerMinute, promptTokens);
        OpenAiApi.WriteRateLimitHeaders(context.Response.Headers, options, decision);
        if (!decision.Allowed)
        {
            services.Counters.RateLimited(decision.RejectedBy);
            return OpenAiApi.RateLimited(context.Response.Headers, model, options, decision);
        }
        try
        {
            await OpenAiApi.SimulateLatency(options, services.Time, cancellationToken);
            var fault = services.Runtime.DrawFault(options);
            if (fault is not (FaultKind.None or FaultKind.Corpus))
            {
                services.Counters.Fault(fault);
            }
            switch (fault)
            {
                case FaultKind.Error500:
                    return OpenAiErrors.ServerError();
                case FaultKind.Error503:
                    context.Response.Headers.RetryAfter = "1";
                    return OpenAiErrors.Overloaded();
                case FaultKind.Error429:
                    context.Response.Headers.RetryAfter = "1";
                    return OpenAiErrors.RateLimited($"{model} is busy for this organization's tier. Please try again in 1s.", "requests");
                case FaultKind.Timeout:
                    return await OpenAiApi.Hang(context, options, services);
                case FaultKind.Reset:
                    OpenAiGateMiddleware.Abort(context);
                    return TypedResults.Empty;
            }
            var body = Answer(model, inputs, dimensions, base64, promptTokens);
            services.Counters.TokensServed(promptTokens, 0);
            // The malformed-body fault: the same answer cut halfway.
            return TypedResults.Content(fault == FaultKind.MalformedJson ? body[..(body.Length / 2)] : body, "application/json", Encoding.UTF8);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return TypedResults.Empty;
        }
    }

    /// <summary>
    /// The vector of one input: seeded from SHA-256 of the model, the size and the text, drawn from a normal
    /// distribution and scaled to length 1 (as OpenAI's are), so the same input always gets the same vector.
    /// </summary>
    public static float[] Vector(string model, string input, int dimensions)
    {
        var seed = BitConverter.ToInt32(SHA256.HashData(Encoding.UTF8.GetBytes($"{model}\n{dimensions}\n{input}")));
        var random = new Random(seed);
        var vector = new float[dimensions];
        double norm = 0;
        for (var i = 0; i < dimensions; i++)
        {
            // Box-Muller: two uniform draws make one normal one.
            var value = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
            vector[i] = (float)value;
            norm += value * value;
        }
        var scale = 1 / Math.Sqrt(norm);
        for (var i = 0; i < dimensions; i++)
        {
            vector[i] = (float)(vector[i] * scale);
        }
        return vector;
    }

    internal static string Answer(string model, IReadOnlyList<string> inputs, int dimensions, bool base64, int promptTokens)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            for (var index = 0; index < inputs.Count; index++)
            {
                var vector = Vector(model, inputs[index], dimensions);
                json.WriteStartObject();
                json.WriteString("object", "embedding");
                json.WriteNumber("index", index);
                if (base64)
                {
                    var bytes = new byte[vector.Length * sizeof(float)];
                    Buffer.BlockCopy(vector, 0, bytes, 0, bytes.Length);
                    json.WriteString("embedding", Convert.ToBase64String(bytes));
                }
                else
                {
                    json.WriteStartArray("embedding");
                    foreach (var value in vector)
                    {
                        json.WriteNumberValue(value);
                    }
                    json.WriteEndArray();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteString("model", model);
            json.WriteStartObject("usage");
            json.WriteNumber("prompt_tokens", promptTokens);
            json.WriteNumber("total_tokens", promptTokens);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal static JsonHttpResult<OpenAiErrorResponse>? Validate(JsonElement body, SimulatorOptions options)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            return OpenAiErrors.InvalidRequest("The request body must be a JSON object.", null);
        }
        if (!body.TryGetProperty("model", out var model) || model.ValueKind != JsonValueKind.String || model.GetString() is not { Length: > 0 } name)
        {
            return OpenAiErrors.InvalidRequest("You must provide a model parameter.", "model", "missing_required_parameter");
        }
        if (Array.IndexOf(options.Models, name) < 0)
        {
            return OpenAiErrors.ModelNotFound(name);
        }
        if (!body.TryGetProperty("input", out var input))
        {
            return OpenAiErrors.InvalidRequest("Missing required parameter: 'input'.", "input", "missing_required_parameter");
        }
        var valid = input.ValueKind switch
        {
            JsonValueKind.String => input.GetString() is { Length: > 0 },
            JsonValueKind.Array => input.GetArrayLength() is > 0 and <= 2048
                && input.EnumerateArray().All(i => i.ValueKind == JsonValueKind.String && i.GetString() is { Length: > 0 }),
            _ => false,
        };
        if (!valid)
        {
            return OpenAiErrors.InvalidRequest("'input' must be a non-empty string or an array of 1 to 2048 non-empty strings.", "input", "invalid_value");
        }
        if (body.TryGetProperty("dimensions", out var dimensions) && !(dimensions.TryGetInt32(out var d) && d is >= 1 and <= 16_384))
        {
            return OpenAiErrors.InvalidRequest("Invalid 'dimensions': must be an integer from 1 to 16384.", "dimensions", "invalid_value");
        }
        if (body.TryGetProperty("encoding_format", out var encoding) && (encoding.ValueKind != JsonValueKind.String || encoding.GetString() is not ("float" or "base64")))
        {
            return OpenAiErrors.InvalidRequest("Invalid 'encoding_format': expected 'float' or 'base64'.", "encoding_format", "invalid_value");
        }
        return null;
    }

    internal static (string Model, IReadOnlyList<string> Inputs, int Dimensions, bool Base64) Read(JsonElement body, SimulatorOptions options)
    {
        var input = body.GetProperty("input");
        IReadOnlyList<string> inputs = input.ValueKind == JsonValueKind.Array ? [.. input.EnumerateArray().Select(i => i.GetString()!)] : [input.GetString()!];
        var dimensions = body.TryGetProperty("dimensions", out var d) ? d.GetInt32() : options.EmbeddingDimensions;
        var base64 = body.TryGetProperty("encoding_format", out var e) && e.GetString() == "base64";
        return (body.GetProperty("model").GetString()!, inputs, dimensions, base64);
    }
}
