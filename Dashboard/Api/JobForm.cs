using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AspireBatch.Contracts;

namespace AspireBatch.Dashboard.Api;

/// <summary>What the New job page sends with the file, for both preview and create.</summary>
public sealed partial class JobForm : JobFormFields
{
    public MultipartFormDataContent ToContent(Stream file, string fileName)
    {
        var content = new MultipartFormDataContent();
        var fileContent = new StreamContent(file);
        fileContent.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Add(fileContent, "file", fileName);
        Add(content, "format", Format);
        Add(content, "model", Model);
        Add(content, "name", Name);
        Add(content, "systemTemplate", SystemTemplate);
        Add(content, "userTemplate", UserTemplate);
        Add(content, "idField", IdField);
        Add(content, "temperature", Temperature?.ToString(CultureInfo.InvariantCulture));
        Add(content, "maxTokens", MaxTokens?.ToString(CultureInfo.InvariantCulture));
        Add(content, "responseFormat", ResponseFormat);
        Add(content, "metadata", Metadata);
        Add(content, "budgetUsd", BudgetUsd?.ToString(CultureInfo.InvariantCulture));
        Add(content, "mode", Mode);
        Add(content, "deadline", Deadline?.ToString("O", CultureInfo.InvariantCulture));
        Add(content, "startPaused", StartPaused ? "true" : "false");
        // Absent means auto: on when the temperature is 0.
        Add(content, "dedup", Dedup is { } dedup ? dedup ? "true" : "false" : null);
        Add(content, "endpoint", Endpoint);
        Add(content, "dimensions", Dimensions?.ToString(CultureInfo.InvariantCulture));
        Add(content, "responseCacheTtlSeconds", ResponseCacheTtlSeconds?.ToString(CultureInfo.InvariantCulture));
        return content;
    }

    /// <summary>The response cache's TTL as the page asks it, in hours (the Api takes seconds).</summary>
    public double? ResponseCacheHours
    {
        get => ResponseCacheTtlSeconds / 3600.0;
        set => ResponseCacheTtlSeconds = value is > 0 ? (int)Math.Round(value.Value * 3600) : null;
    }

    public bool IsEmbeddings => JobEndpoints.Parse(Endpoint) == JobEndpoint.Embeddings;

    /// <summary>
    /// Turns an uploaded JSON Schema file into the response format that asks answers to follow it, named after the file
    /// (OpenAI allows letters, digits, _ and - up to 64). Whether it is a valid schema the Api judges on preview and create.
    /// </summary>
    public static (string? ResponseFormat, string? Error) SchemaResponseFormat(string fileName, string text)
    {
        JsonNode? schema;
        try
        {
            schema = JsonNode.Parse(text);
        }
        catch (JsonException e)
        {
            return (null, $"{fileName} is not JSON: {e.Message}");
        }
        if (schema is not JsonObject)
        {
            return (null, $"{fileName} must hold a JSON Schema object");
        }
        var name = NotAllowedInName().Replace(Path.GetFileNameWithoutExtension(fileName), "_").Trim('_');
        name = name.Length == 0 ? "schema" : name[..Math.Min(64, name.Length)];
        var format = new JsonObject
        {
            ["type"] = "json_schema",
            ["json_schema"] = new JsonObject { ["name"] = name, ["schema"] = schema, ["strict"] = true },
        };
        return (format.ToJsonString(), null);
    }

    [GeneratedRegex("[^A-Za-z0-9_-]+")]
    private static partial Regex NotAllowedInName();

    private static void Add(MultipartFormDataContent content, string name, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            content.Add(new StringContent(value), name);
        }
    }
}
