using AspireBatch.Simulator.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Simulator.Apis;

/// <summary>OpenAI-shaped error responses: <c>{"error":{"message","type","param","code"}}</c>.</summary>
public static class OpenAiErrors
{
    public static JsonHttpResult<OpenAiErrorResponse> Create(int statusCode, string message, string type, string? param, string? code) =>
        TypedResults.Json(new OpenAiErrorResponse(new OpenAiError(message, type, param, code)), statusCode: statusCode);

    public static JsonHttpResult<OpenAiErrorResponse> InvalidRequest(string message, string? param, string? code = null) =>
        Create(StatusCodes.Status400BadRequest, message, "invalid_request_error", param, code);

    public static JsonHttpResult<OpenAiErrorResponse> InvalidApiKey() =>
        Create(StatusCodes.Status401Unauthorized, "Incorrect API key provided", "invalid_request_error", null, "invalid_api_key");

    public static JsonHttpResult<OpenAiErrorResponse> ModelNotFound(string model) =>
        Create(StatusCodes.Status404NotFound, $"The model `{model}` does not exist", "invalid_request_error", "model", "model_not_found");

    public static JsonHttpResult<OpenAiErrorResponse> RateLimited(string message, string type) =>
        Create(StatusCodes.Status429TooManyRequests, message, type, null, "rate_limit_exceeded");

    public static JsonHttpResult<OpenAiErrorResponse> ServerError() =>
        Create(StatusCodes.Status500InternalServerError, "The server had an error while processing your request. Sorry about that!", "server_error", null, null);

    public static JsonHttpResult<OpenAiErrorResponse> Overloaded() =>
        Create(StatusCodes.Status503ServiceUnavailable, "The server is overloaded or not ready yet.", "server_error", null, "service_unavailable");

    public static JsonHttpResult<OpenAiErrorResponse> TimedOut() =>
        Create(StatusCodes.Status504GatewayTimeout, "Request timed out.", "server_error", null, "timeout");
}
