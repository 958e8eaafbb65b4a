using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using AspireBatch.Simulator.Contracts;
using AspireBatch.Simulator.Services;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Simulator.Apis;

/// <summary>
/// The OpenAI-compatible surface. A chat completion goes: parse and validate (400/404, including an unknown corpus
/// marker), rate limits (429), latency, then either the corpus entry a <c>[[corpus:&lt;name&gt;]]</c> marker asks for (no
/// fault draw) or one fault draw (500/503/hang/reset/malformed body/429/corpus replay), then the deterministic answer of
/// <see cref="SimulatorAnswers"/>. The hot path logs nothing.
/// </summary>
public static partial class OpenAiApi
{
    // Models report a fixed creation time so /v1/models is stable across runs.
    private const long ModelsCreated = 1_700_000_000;

    public static IEndpointRouteBuilder MapOpenAiApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/v1").WithTags("OpenAI");

        api.MapGet("/models", ListModels)
            .WithName("ListModels")
            .WithSummary("Lists the simulated models");

        api.MapPost("/chat/completions", CreateChatCompletion)
            .WithName("CreateChatCompletion")
            .WithSummary("Answers a chat completion deterministically, under the configured latency, limits and faults");

        api.MapPost("/embeddings", EmbeddingsApi.CreateEmbeddings)
            .WithName("CreateEmbeddings")
            .WithSummary("Answers deterministic unit vectors (one per input), under the configured latency, limits and faults");

        return app;
    }

    public static Ok<ModelList> ListModels([AsParameters] SimulatorServices services) =>
        TypedResults.Ok(new ModelList(
            "list",
            [.. services.Runtime.Current.Models.Select(id => new ModelInfo(id, "model", ModelsCreated, "simulator"))]));

    public static async Task<Results<Ok<ChatCompletionResponse>, JsonHttpResult<OpenAiErrorResponse>, EmptyHttpResult>> CreateChatCompletion(
        HttpContext context,
        [AsParameters] SimulatorServices services)
    {
        var cancellationToken = context.RequestAborted;
        var options = services.Runtime.Current;

        ChatCompletionRequest? request;
        try
        {
            request = await context.Request.ReadFromJsonAsync<ChatCompletionRequest>(cancellationToken);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return OpenAiErrors.InvalidRequest("We could not parse the JSON body of your request. (HINT: the body must be a JSON object sent as application/json.)", null);
        }

        if (Validate(request, options, out var messages) is { } invalid)
        {
            return invalid;
        }

        CorpusEntry? asked = null;
        if (FindMarker(messages) is { } marker && !services.Corpus.TryGet(marker, out asked))
        {
            return OpenAiErrors.InvalidRequest(
                $"Unknown corpus entry '{marker}' in a [[corpus:<name>]] marker. Known entries: {string.Join(", ", services.Corpus.Entries.Select(e => e.Name))}.",
                "messages", "unknown_corpus_entry");
        }

        var model = request!.Model!;
        var completion = Answer(request, messages, options, services.Runtime, services.Counters);

        var decision = services.RateLimiter.TryAcquire(options.RequestsPerMinute, options.TokensPerMinute, completion.TotalTokens);
        WriteRateLimitHeaders(context.Response.Headers, options, decision);
        if (!decision.Allowed)
        {
            services.Counters.RateLimited(decision.RejectedBy);
            return RateLimited(context.Response.Headers, model, options, decision);
        }

        try
        {
            await SimulateLatency(options, services.Time, cancellationToken);

            if (asked is not null)
            {
                return await Replay(context, asked, model, completion, services);
            }

            var fault = services.Runtime.DrawFault(options);
            if (fault != FaultKind.None)
            {
                services.Counters.Fault(fault);
            }

            var response = fault is FaultKind.None or FaultKind.MalformedJson ? ToResponse(model, completion, services.Time) : null;
            switch (fault)
            {
                case FaultKind.Error500:
                    return OpenAiErrors.ServerError();
                case FaultKind.Error503:
                    context.Response.Headers.RetryAfter = "1";
                    return OpenAiErrors.Overloaded();
                case FaultKind.Error429:
                    return BusyRateLimited(context.Response.Headers, model, options, services.Time);
                case FaultKind.Timeout:
                    return await Hang(context, options, services);
                case FaultKind.Reset:
                    OpenAiGateMiddleware.Abort(context);
                    return TypedResults.Empty;
                case FaultKind.MalformedJson:
                    await WriteTruncatedJson(context.Response, response!, cancellationToken);
                    return TypedResults.Empty;
                case FaultKind.Corpus:
                    return await Replay(context, services.Runtime.DrawCorpusEntry(options), model, completion, services);
            }

            services.Counters.TokensServed(completion.PromptTokens, completion.CompletionTokens);
            return TypedResults.Ok(response!);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return TypedResults.Empty; // The client went away; nobody reads an answer.
        }
    }

    /// <summary>
    /// The answer to a validated request (<see cref="Validate"/>), drawing a schema violation when one is due. Native batch
    /// lines are answered by this same method, so a record gets the same answer in real time and in a batch.
    /// </summary>
    internal static SimulatedCompletion Answer(
        ChatCompletionRequest request, List<(string Role, string Content)> messages, SimulatorOptions options, SimulatorRuntime runtime, SimulatorCounters counters)
    {
        var schema = request.ResponseFormat is { Type: "json_schema", JsonSchema.Schema: { } given } ? given : (JsonElement?)null;
        // A re-ask (the history holds an earlier answer) is answered right, unless the operator asked for stubbornness:
        // so a client's re-ask loop can be tested both ways, deterministically.
        var reask = messages.Any(m => m.Role == "assistant");
        var violate = schema is not null && (!reask || options.SchemaViolationOnReask) && runtime.DrawSchemaViolation(options);
        if (violate)
        {
            counters.SchemaViolation();
        }
        return SimulatorAnswers.Complete(
            request.Model!, messages, request.MaxCompletionTokens ?? request.MaxTokens, request.ResponseFormat?.Type == "json_object",
            new AnswerStyle(options.Labels, options.DisagreeRate, options.AnswerSalt), schema, violate);
    }

    internal static JsonHttpResult<OpenAiErrorResponse>? Validate(
        ChatCompletionRequest? request, SimulatorOptions options, out List<(string Role, string Content)> messages)
    {
        messages = [];
        if (request is null)
        {
            return OpenAiErrors.InvalidRequest("The request body must be a JSON object.", null);
        }

        if (string.IsNullOrEmpty(request.Model))
        {
            return OpenAiErrors.InvalidRequest("You must provide a model parameter.", "model", "missing_required_parameter");
        }

        if (Array.IndexOf(options.Models, request.Model) < 0)
        {
            return OpenAiErrors.ModelNotFound(request.Model);
        }

        if (request.Messages is null)
        {
            return OpenAiErrors.InvalidRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
        }

        if (request.Messages.Count == 0)
        {
            return OpenAiErrors.InvalidRequest(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", "messages", "empty_array");
        }

        if (request.Stream == true)
        {
            return OpenAiErrors.InvalidRequest("The simulator does not support streaming.", "stream", "unsupported_value");
        }

        if (request.MaxCompletionTokens is < 1 || (request.MaxCompletionTokens is null && request.MaxTokens is < 1))
        {
            var param = request.MaxCompletionTokens is null ? "max_tokens" : "max_completion_tokens";
            return OpenAiErrors.InvalidRequest($"Invalid '{param}': must be at least 1.", param, "invalid_value");
        }

        if (request.ResponseFormat is { Type: "json_schema" } format && format.JsonSchema?.Schema is not { ValueKind: JsonValueKind.Object or JsonValueKind.True })
        {
            return OpenAiErrors.InvalidRequest(
                "Missing required parameter: 'response_format.json_schema.schema'.", "response_format.json_schema", "missing_required_parameter");
        }

        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            if (string.IsNullOrEmpty(message.Role))
            {
                return OpenAiErrors.InvalidRequest($"Missing required parameter: 'messages[{i}].role'.", $"messages[{i}].role", "missing_required_parameter");
            }

            if (ContentText(message.Content) is not { } content)
            {
                return OpenAiErrors.InvalidRequest($"Invalid type for 'messages[{i}].content'.", $"messages[{i}].content", "invalid_type");
            }

            messages.Add((message.Role, content));
        }

        return null;
    }

    /// <summary>The name in the first <c>[[corpus:&lt;name&gt;]]</c> marker of any message, or null.</summary>
    private static string? FindMarker(List<(string Role, string Content)> messages)
    {
        foreach (var (_, content) in messages)
        {
            if (content.Contains("[[corpus:", StringComparison.Ordinal) && CorpusMarker().Match(content) is { Success: true } match)
            {
                return match.Groups[1].Value;
            }
        }

        return null;
    }

    [GeneratedRegex(@"\[\[corpus:([^\]]*)\]\]", RegexOptions.CultureInvariant)]
    private static partial Regex CorpusMarker();

    /// <summary>
    /// Sends <paramref name="entry"/> byte for byte: its status, its headers, its body with the placeholders filled from this
    /// request's normal answer (gzipped with Content-Encoding: gzip when the entry says so). The tokens the body reports count as served.
    /// </summary>
    private static async Task<EmptyHttpResult> Replay(
        HttpContext context, CorpusEntry entry, string model, SimulatedCompletion completion, SimulatorServices services)
    {
        services.Counters.CorpusReplayed(entry.Name);
        services.Counters.TokensServed(
            entry.ReportsPromptTokens ? completion.PromptTokens : 0, entry.ReportsCompletionTokens ? completion.CompletionTokens : 0);

        var values = new CorpusValues(
            NewId(), services.Time.GetUtcNow().ToUnixTimeSeconds(), model, completion.Content, completion.PromptTokens, completion.CompletionTokens);
        var body = ResponseCorpus.Render(entry, values);
        var response = context.Response;
        response.StatusCode = entry.Status;
        foreach (var (name, value) in entry.Headers)
        {
            response.Headers[name] = value;
        }

        if (entry.Gzip)
        {
            response.Headers.ContentEncoding = "gzip";
        }

        response.ContentLength = body.Length;
        await response.Body.WriteAsync(body, context.RequestAborted);
        return TypedResults.Empty;
    }

    private static string NewId() => $"chatcmpl-{Guid.NewGuid():N}";

    /// <summary>A string content as is; an array of parts as its text parts concatenated; null as empty.</summary>
    private static string? ContentText(JsonElement content)
    {
        switch (content.ValueKind)
        {
            case JsonValueKind.String:
                return content.GetString();
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return string.Empty;
            case JsonValueKind.Array:
                var text = new StringBuilder();
                foreach (var part in content.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object
                        && part.TryGetProperty("type", out var type) && type.ValueEquals("text")
                        && part.TryGetProperty("text", out var partText) && partText.ValueKind == JsonValueKind.String)
                    {
                        text.Append(partText.GetString());
                    }
                }

                return text.ToString();
            default:
                return null;
        }
    }

    internal static ChatCompletionResponse ToResponse(string model, SimulatedCompletion completion, TimeProvider time) =>
        new(
            Id: NewId(),
            Object: "chat.completion",
            Created: time.GetUtcNow().ToUnixTimeSeconds(),
            Model: model,
            Choices: [new ChatChoice(0, new ChatMessageResponse("assistant", completion.Content), completion.FinishReason)],
            Usage: new ChatUsage(completion.PromptTokens, completion.CompletionTokens, completion.TotalTokens));

    internal static void WriteRateLimitHeaders(IHeaderDictionary headers, SimulatorOptions options, RateDecision decision)
    {
        if (options.RequestsPerMinute > 0)
        {
            headers["x-ratelimit-limit-requests"] = options.RequestsPerMinute.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-requests"] = decision.RemainingRequests.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-requests"] = FormatDuration(decision.ResetRequests);
        }

        if (options.TokensPerMinute > 0)
        {
            headers["x-ratelimit-limit-tokens"] = options.TokensPerMinute.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-remaining-tokens"] = decision.RemainingTokens.ToString(CultureInfo.InvariantCulture);
            headers["x-ratelimit-reset-tokens"] = FormatDuration(decision.ResetTokens);
        }
    }

    /// <summary>
    /// A duration in OpenAI's <c>x-ratelimit-reset-*</c> form (Go's): <c>0s</c>, <c>20ms</c>, <c>1s</c>, <c>1.5s</c>, <c>6m0s</c>,
    /// <c>1h2m3s</c>; rounded up to the millisecond so that waiting that long finds the capacity free.
    /// </summary>
    public static string FormatDuration(TimeSpan duration)
    {
        var ms = (long)Math.Ceiling(Math.Max(0, duration.TotalMilliseconds));
        if (ms == 0)
        {
            return "0s";
        }

        if (ms < 1000)
        {
            return ms.ToString(CultureInfo.InvariantCulture) + "ms";
        }

        var (hours, minutes, seconds, fraction) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        var text = new StringBuilder();
        if (hours > 0)
        {
            text.Append(hours).Append('h');
        }

        if (hours > 0 || minutes > 0)
        {
            text.Append(minutes).Append('m');
        }

        text.Append(seconds);
        if (fraction > 0)
        {
            text.Append('.').Append(fraction.ToString("000", CultureInfo.InvariantCulture).TrimEnd('0'));
        }

        return text.Append('s').ToString();
    }

    internal static JsonHttpResult<OpenAiErrorResponse> RateLimited(
        IHeaderDictionary headers, string model, SimulatorOptions options, RateDecision decision)
    {
        var retryAfterMs = Math.Max(1, (long)Math.Ceiling(decision.RetryAfter.TotalMilliseconds));
        headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfterMs / 1000.0)).ToString(CultureInfo.InvariantCulture);
        headers["retry-after-ms"] = retryAfterMs.ToString(CultureInfo.InvariantCulture);

        var (what, unit, limit, type) = decision.RejectedBy == RateLimitKind.Tokens
            ? ("tokens per min", "TPM", options.TokensPerMinute, "tokens")
            : ("requests per min", "RPM", options.RequestsPerMinute, "requests");
        var wait = (retryAfterMs / 1000.0).ToString("0.###", CultureInfo.InvariantCulture);
        return OpenAiErrors.RateLimited(
            $"Rate limit reached for {model} in organization simulator on {what} ({unit}): Limit {limit}. Please try again in {wait}s.", type);
    }

    /// <summary>A drawn 429: the wait stated in the message is exactly what the header asks, whatever its form.</summary>
    private static JsonHttpResult<OpenAiErrorResponse> BusyRateLimited(IHeaderDictionary headers, string model, SimulatorOptions options, TimeProvider time)
    {
        var wait = TimeSpan.FromMilliseconds(options.RetryAfterMs);
        switch (options.RetryAfterFormat)
        {
            case RetryAfterFormat.Seconds:
                wait = TimeSpan.FromSeconds(Math.Ceiling(wait.TotalSeconds));
                headers.RetryAfter = ((long)wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                break;
            case RetryAfterFormat.HttpDate:
                var now = time.GetUtcNow();
                var at = now + wait;
                at = new DateTimeOffset(at.Ticks - at.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero).AddSeconds(at.Ticks % TimeSpan.TicksPerSecond == 0 ? 0 : 1);
                wait = at - now;
                headers.RetryAfter = at.ToString("R", CultureInfo.InvariantCulture);
                break;
            case RetryAfterFormat.Milliseconds:
                headers["retry-after-ms"] = options.RetryAfterMs.ToString(CultureInfo.InvariantCulture);
                break;
        }
        var seconds = wait.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);
        return OpenAiErrors.RateLimited($"{model} is busy for this organization's tier. Please try again in {seconds}s.", "requests");
    }

    internal static Task SimulateLatency(SimulatorOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var jitter = options.LatencyJitterMs > 0 ? Random.Shared.Next(-options.LatencyJitterMs, options.LatencyJitterMs + 1) : 0;
        var delay = options.LatencyMs + jitter;
        return delay > 0 ? Task.Delay(TimeSpan.FromMilliseconds(delay), time, cancellationToken) : Task.CompletedTask;
    }

    /// <summary>The timeout fault: hang until TimeoutHangMs passes (then 504), the client gives up, or the host stops.</summary>
    internal static async Task<JsonHttpResult<OpenAiErrorResponse>> Hang(HttpContext context, SimulatorOptions options, SimulatorServices services)
    {
        using var hang = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, services.Lifetime.ApplicationStopping);
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(options.TimeoutHangMs), services.Time, hang.Token);
        }
        catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
        {
            return OpenAiErrors.Overloaded(); // The host is stopping: do not hold its shutdown for the rest of the hang.
        }

        return OpenAiErrors.TimedOut();
    }

    /// <summary>The malformed-body fault: a 200 whose JSON stops halfway (Content-Length matches what is sent).</summary>
    private static async Task WriteTruncatedJson(HttpResponse response, ChatCompletionResponse body, CancellationToken cancellationToken)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(body, JsonSerializerOptions.Web);
        var length = json.Length / 2;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json";
        response.ContentLength = length;
        await response.Body.WriteAsync(json.AsMemory(0, length), cancellationToken);
    }
}
