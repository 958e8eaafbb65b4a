namespace AspireBatch.Api.Services.OpenAi;

/// <summary>A refused OpenAI-API request: the status code and the fields of OpenAI's error object.</summary>
public sealed record OpenAiFailure(int StatusCode, string Message, string? Param = null, string? Code = null, string Type = "invalid_request_error")
{
    public OpenAiErrorResponse ToResponse() => new(new OpenAiError(Message, Type, Param, Code));

    public static OpenAiFailure BadRequest(string message, string? param = null, string? code = null) => new(StatusCodes.Status400BadRequest, message, param, code);

    public static OpenAiFailure NotFound(string message, string? param = null) => new(StatusCodes.Status404NotFound, message, param);

    /// <summary>The file existed but what it was made of is gone (a batch whose records retention purged).</summary>
    public static OpenAiFailure Gone(string message, string? param = null) => new(StatusCodes.Status410Gone, message, param, "purged");

    /// <summary>OpenAI's words for a missing or wrong key, so SDKs raise their authentication error.</summary>
    public static OpenAiFailure Unauthorized(bool keyPresented) => new(StatusCodes.Status401Unauthorized,
        keyPresented
            ? "Incorrect API key provided. Use the AspireBatch API key (AppHost parameter api-key) as the OpenAI API key."
            : "You didn't provide an API key. Send the AspireBatch API key as `Authorization: Bearer <api-key>`.",
        Code: keyPresented ? "invalid_api_key" : null);
}
