using AspireBatch.Simulator.Services;

namespace AspireBatch.Simulator.Apis;

/// <summary>
/// In front of /v1: counts every request (total, in flight, status code or abort) and checks the bearer key.
/// A middleware rather than an endpoint filter so that the status actually written, including 401, is counted.
/// </summary>
public sealed class OpenAiGateMiddleware(RequestDelegate next, SimulatorRuntime runtime, SimulatorCounters counters)
{
    private const string BearerPrefix = "Bearer ";
    private static readonly object AbortedKey = new();

    /// <summary>Aborts the connection and makes sure it is counted as aborted (RequestAborted is signalled asynchronously).</summary>
    public static void Abort(HttpContext context)
    {
        context.Items[AbortedKey] = true;
        context.Abort();
    }

    public async Task InvokeAsync(HttpContext context)
    {
        if (!context.Request.Path.StartsWithSegments("/v1"))
        {
            await next(context);
            return;
        }

        counters.RequestStarted(context.Request.Path.StartsWithSegments("/v1/chat/completions"), context.Request.Path.StartsWithSegments("/v1/embeddings"));
        try
        {
            if (!HasValidKey(context.Request, runtime.Current.ApiKey))
            {
                await OpenAiErrors.InvalidApiKey().ExecuteAsync(context);
                return;
            }

            await next(context);
        }
        finally
        {
            var aborted = context.RequestAborted.IsCancellationRequested || context.Items.ContainsKey(AbortedKey);
            counters.RequestFinished(aborted ? null : context.Response.StatusCode);
        }
    }

    private static bool HasValidKey(HttpRequest request, string apiKey)
    {
        var header = request.Headers.Authorization.ToString();
        return header.Length == BearerPrefix.Length + apiKey.Length
            && header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase)
            && header.AsSpan(BearerPrefix.Length).SequenceEqual(apiKey);
    }
}
