using System.Text.Json.Nodes;

namespace AspireBatch.Tests;

/// <summary>
/// The Api's OpenAPI document describes every route with a summary and shows an example of every JSON body it reads or
/// answers. Failures name the operations, so a new endpoint without them is found at once.
/// </summary>
public sealed class OpenApiDocumentTests(StackFixture stack)
{
    private static readonly HashSet<string> Methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

    [Fact]
    public async Task Every_operation_has_a_summary()
    {
        var missing = (await OperationsAsync())
            .Where(o => string.IsNullOrWhiteSpace(o.Operation["summary"]?.GetValue<string>()))
            .Select(o => o.Name).ToList();
        Assert.True(missing.Count == 0, $"operations without a summary: {string.Join(", ", missing)}");
    }

    [Fact]
    public async Task Every_json_request_body_has_an_example()
    {
        var (document, operations) = await DocumentAsync();
        var missing = new List<string>();
        foreach (var (name, operation) in operations)
        {
            if (operation["requestBody"]?["content"]?["application/json"]?["schema"] is { } schema && !HasExample(document, schema))
            {
                missing.Add($"{name} ({Describe(schema)})");
            }
        }
        Assert.True(missing.Count == 0, $"JSON request bodies without an example: {string.Join(", ", missing)}");
    }

    [Fact]
    public async Task Every_json_success_response_has_an_example()
    {
        var (document, operations) = await DocumentAsync();
        var missing = new List<string>();
        var checkedResponses = 0;
        foreach (var (name, operation) in operations)
        {
            foreach (var status in new[] { "200", "201" })
            {
                if (operation["responses"]?[status]?["content"]?["application/json"]?["schema"] is { } schema)
                {
                    checkedResponses++;
                    if (!HasExample(document, schema))
                    {
                        missing.Add($"{name} {status} ({Describe(schema)})");
                    }
                }
            }
        }
        Assert.True(checkedResponses > 30, $"only {checkedResponses} JSON success responses in the document");
        Assert.True(missing.Count == 0, $"JSON success responses without an example: {string.Join(", ", missing)}");
    }

    /// <summary>An example written with the wrong JSON options (PascalCase, enum numbers) would show names the Api never sends.</summary>
    [Fact]
    public async Task Examples_use_the_property_names_of_their_schemas()
    {
        var (document, _) = await DocumentAsync();
        var wrong = new List<string>();
        var checkedExamples = 0;
        foreach (var (name, schema) in document["components"]!["schemas"]!.AsObject())
        {
            if (schema?["properties"] is not JsonObject properties)
            {
                continue;
            }
            foreach (var example in (schema["examples"] as JsonArray ?? []).Append(schema["example"]).OfType<JsonObject>())
            {
                checkedExamples++;
                wrong.AddRange(example.Where(p => !properties.ContainsKey(p.Key)).Select(p => $"{name}.{p.Key} (not in the schema)"));
                wrong.AddRange((schema["required"] as JsonArray ?? []).Select(r => r!.GetValue<string>()).Where(r => !example.ContainsKey(r))
                    .Select(r => $"{name}.{r} (required, missing from the example)"));
            }
        }
        Assert.True(checkedExamples > 30, $"only {checkedExamples} object examples in components/schemas");
        Assert.True(wrong.Count == 0, $"examples that do not match their schema: {string.Join(", ", wrong)}");
    }

    private async Task<List<(string Name, JsonNode Operation)>> OperationsAsync() => (await DocumentAsync()).Operations;

    private async Task<(JsonNode Document, List<(string Name, JsonNode Operation)> Operations)> DocumentAsync()
    {
        var document = JsonNode.Parse(await stack.Api.GetStringAsync("/openapi/v1.json"))!;
        var operations = new List<(string, JsonNode)>();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject().Where(p => Methods.Contains(p.Key)))
            {
                operations.Add(($"{method.ToUpperInvariant()} {path} ({operation!["operationId"]?.GetValue<string>()})", operation));
            }
        }
        Assert.True(operations.Count > 40, $"only {operations.Count} operations in the document");
        return (document, operations);
    }

    /// <summary>
    /// Follows $ref to components/schemas, an array to its items, and oneOf/anyOf (a nullable body is oneOf null or a
    /// reference) to every branch that is not null.
    /// </summary>
    private static bool HasExample(JsonNode document, JsonNode schema, int depth = 0)
    {
        if (depth > 10)
        {
            return false;
        }
        if (schema["example"] is not null || schema["examples"] is JsonArray { Count: > 0 })
        {
            return true;
        }
        if (schema["$ref"]?.GetValue<string>() is { } reference)
        {
            const string prefix = "#/components/schemas/";
            return reference.StartsWith(prefix, StringComparison.Ordinal)
                && document["components"]?["schemas"]?[reference[prefix.Length..]] is { } target
                && HasExample(document, target, depth + 1);
        }
        if (IsArray(schema) && schema["items"] is { } items)
        {
            return HasExample(document, items, depth + 1);
        }
        foreach (var keyword in new[] { "oneOf", "anyOf" })
        {
            if (schema[keyword] is JsonArray branches)
            {
                var real = branches.Where(b => b is not null && b["type"]?.ToString() != "null").ToList();
                return real.Count > 0 && real.All(b => HasExample(document, b!, depth + 1));
            }
        }
        return false;
    }

    private static bool IsArray(JsonNode schema) => schema["type"] switch
    {
        JsonArray types => types.Any(t => t?.GetValue<string>() == "array"),
        JsonValue type => type.GetValue<string>() == "array",
        _ => false,
    };

    private static string Describe(JsonNode schema)
    {
        var text = schema.ToJsonString();
        return text.Length > 120 ? text[..120] + "…" : text;
    }
}
