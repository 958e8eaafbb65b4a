using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace AspireBatch.Data.Domain;

/// <summary>One way an answer breaks its schema: where (a JSON pointer into the answer, "" for the whole) and why.</summary>
public sealed record SchemaViolation(string Pointer, string Message)
{
    public override string ToString() => $"{(Pointer.Length == 0 ? "/" : Pointer)}: {Message}";
}

/// <summary>What checking an answer found; <see cref="Summary"/> is short enough to feed back to a model and to store.</summary>
public sealed record SchemaCheck(bool IsValid, IReadOnlyList<SchemaViolation> Violations)
{
    /// <summary>How many violations a summary names: a model fixes the first few, a long list only costs tokens.</summary>
    public const int SummaryLimit = 5;

    public static SchemaCheck Valid { get; } = new(true, []);

    public string Summary => IsValid ? "" : string.Join("; ", Violations.Take(SummaryLimit))
        + (Violations.Count > SummaryLimit ? $"; and {Violations.Count - SummaryLimit} more" : "");
}

/// <summary>
/// The JSON Schema of a <c>response_format</c> of type <c>json_schema</c> (OpenAI's <c>json_schema.schema</c>), built once
/// with JsonSchema.Net and used to check answers. Each schema gets a registry of its own, so a <c>$id</c> in one job's
/// schema never collides with another's in the process-wide registry.
/// </summary>
public sealed class AnswerSchema
{
    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.List };
    private readonly JsonSchema _schema;

    private AnswerSchema(JsonSchema schema) => _schema = schema;

    /// <summary>
    /// The schema a response_format asks answers to follow: null when it asks none (absent, text, json_object); an
    /// error when it is json_schema without a usable schema.
    /// </summary>
    public static (AnswerSchema? Schema, string? Error) FromResponseFormat(JsonElement responseFormat)
    {
        if (responseFormat.ValueKind != JsonValueKind.Object
            || !responseFormat.TryGetProperty("type", out var type) || !type.ValueEquals("json_schema"))
        {
            return (null, null);
        }
        if (!responseFormat.TryGetProperty("json_schema", out var format) || format.ValueKind != JsonValueKind.Object)
        {
            return (null, "json_schema must be an object with a schema (\"json_schema\": {\"name\": ..., \"schema\": {...}})");
        }
        if (!format.TryGetProperty("schema", out var schema))
        {
            return (null, "json_schema.schema is missing");
        }
        var built = Build(schema);
        return built.Error is null ? built : (null, $"json_schema.schema is not a valid JSON Schema: {built.Error}");
    }

    /// <inheritdoc cref="FromResponseFormat(JsonElement)"/>
    public static (AnswerSchema? Schema, string? Error) FromResponseFormat(JsonNode? responseFormat)
    {
        if (responseFormat is not JsonObject)
        {
            return (null, null);
        }
        using var document = JsonDocument.Parse(responseFormat.ToJsonString());
        return FromResponseFormat(document.RootElement);
    }

    /// <summary>Builds a schema, or says why it is not one: checked against the 2020-12 meta-schema first, then built.</summary>
    public static (AnswerSchema? Schema, string? Error) Build(JsonElement schema)
    {
        if (schema.ValueKind is not (JsonValueKind.Object or JsonValueKind.True or JsonValueKind.False))
        {
            return (null, "a schema is a JSON object (or true/false)");
        }
        try
        {
            // The meta-schema catches what building alone lets through, such as "type": "strin".
            var meta = MetaSchemas.Draft202012.Evaluate(schema, Evaluation);
            if (!meta.IsValid)
            {
                return (null, Check(meta).Summary);
            }
            var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
            var built = JsonSchema.Build(schema.Clone(), options, new Uri($"urn:aspirebatch:schema:{Guid.NewGuid():N}"));
            return (new AnswerSchema(built), null);
        }
        catch (Exception e) when (e is JsonSchemaException or JsonException or RefResolutionException or ArgumentException or InvalidOperationException
            or UriFormatException or FormatException)
        {
            return (null, e.Message);
        }
    }

    /// <summary>Checks a model's answer: it must be JSON, and the JSON must follow the schema.</summary>
    public SchemaCheck Check(string? answer)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(answer ?? "");
        }
        catch (JsonException e)
        {
            return new SchemaCheck(false, [new SchemaViolation("", $"the answer is not JSON ({e.Message.Split(" Path:")[0].TrimEnd('.')})")]);
        }
        using (document)
        {
            try
            {
                return Check(_schema.Evaluate(document.RootElement, Evaluation));
            }
            catch (Exception e) when (e is JsonSchemaException or RefResolutionException)
            {
                // A $ref the schema cannot resolve shows only now: the answer cannot be judged, so it is not accepted.
                return new SchemaCheck(false, [new SchemaViolation("", $"the schema could not be applied: {e.Message}")]);
            }
        }
    }

    private static SchemaCheck Check(EvaluationResults results)
    {
        if (results.IsValid)
        {
            return SchemaCheck.Valid;
        }
        var violations = new List<SchemaViolation>();
        foreach (var node in (IEnumerable<EvaluationResults>?)results.Details ?? [])
        {
            foreach (var (_, message) in node.Errors ?? new Dictionary<string, string>())
            {
                violations.Add(new SchemaViolation(node.InstanceLocation.ToString(), message));
            }
        }
        foreach (var (_, message) in results.Errors ?? new Dictionary<string, string>())
        {
            violations.Add(new SchemaViolation(results.InstanceLocation.ToString(), message));
        }
        if (violations.Count == 0)
        {
            violations.Add(new SchemaViolation("", "the answer does not follow the schema"));
        }
        return new SchemaCheck(false, violations.Distinct().ToList());
    }
}
