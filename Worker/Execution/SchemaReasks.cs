using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using AspireBatch.Data.Domain;

namespace AspireBatch.Worker.Execution;

/// <summary>
/// A job's answer schemas, each built once: the job's own response_format, or each distinct one its OpenAI batch lines
/// carry (keyed by the response_format's text). A schema that does not build (a job imported before schemas were
/// checked) means no check: the provider still gets it, the answer is kept as it comes.
/// </summary>
public sealed class JobSchemas
{
    // Batch lines may each carry another schema; past this many a line's schema is built for its call and not kept.
    private const int MaxKept = 256;
    private readonly ConcurrentDictionary<string, AnswerSchema?> _built = new();

    public AnswerSchema? For(JsonNode? responseFormat)
    {
        if (responseFormat is not JsonObject format || format["type"] is not JsonValue type
            || type.GetValueKind() != JsonValueKind.String || type.GetValue<string>() != "json_schema")
        {
            return null;
        }
        var key = format.ToJsonString();
        if (_built.TryGetValue(key, out var known))
        {
            return known;
        }
        var (schema, _) = AnswerSchema.FromResponseFormat(format);
        if (_built.Count < MaxKept)
        {
            _built.TryAdd(key, schema);
        }
        return schema;
    }
}

/// <summary>The request that asks a model again after its answer broke the schema.</summary>
public static class SchemaReask
{
    /// <summary>
    /// The same request, followed by the previous answer (as the assistant's) and a user message naming what is wrong
    /// with it. Only the last answer goes back, so a second re-ask costs no more input than the first.
    /// </summary>
    public static JsonObject Build(JsonObject request, string? answer, SchemaCheck check)
    {
        var reask = request.DeepClone().AsObject();
        if (reask["messages"] is not JsonArray messages)
        {
            reask["messages"] = messages = [];
        }
        messages.Add(new JsonObject { ["role"] = "assistant", ["content"] = answer ?? "" });
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = Feedback(check) });
        return reask;
    }

    public static string Feedback(SchemaCheck check) =>
        $"Your answer does not follow the required JSON schema: {check.Summary}. Answer again with only the JSON document, following the schema exactly.";
}
