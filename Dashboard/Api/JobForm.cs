using System.Globalization;
using System.Net.Http.Headers;
using AspireBatch.Contracts;

namespace AspireBatch.Dashboard.Api;

/// <summary>What the New job page sends with the file, for both preview and create.</summary>
public sealed class JobForm : JobFormFields
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
        Add(content, "startPaused", StartPaused ? "true" : "false");
        // Absent means auto: on when the temperature is 0.
        Add(content, "dedup", Dedup is { } dedup ? dedup ? "true" : "false" : null);
        return content;
    }

    private static void Add(MultipartFormDataContent content, string name, string? value)
    {
        if (!string.IsNullOrWhiteSpace(value))
        {
            content.Add(new StringContent(value), name);
        }
    }
}
