using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Api.Infrastructure;

/// <summary>
/// A bad parameter, in the one shape every endpoint group uses for it: a ValidationProblem naming the field, with
/// the message also as the detail. (A bad file is told differently: its errors are a list of lines and messages.)
/// </summary>
public static class Invalid
{
    public static ValidationProblem Field(string field, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = [message] }, detail: message);
}
