using System.Text.Json;
using System.Text.Json.Nodes;
using AspireBatch.Contracts;

namespace AspireBatch.Data.Domain;

/// <summary>The job's settings an item needs to become a request body for its endpoint.</summary>
public sealed record JobRequestSettings(
    JobInputFormat Format,
    string? SystemTemplate,
    string? UserTemplate,
    double? Temperature,
    int? MaxTokens,
    string? ResponseFormat,
    JobEndpoint Endpoint = JobEndpoint.ChatCompletions,
    int? Dimensions = null)
{
    /// <summary>An embeddings job without a template embeds each record's <c>input</c> field (the import stores this template).</summary>
    public const string DefaultEmbeddingsTemplate = "{{input}}";
}

/// <summary>
/// Turns a stored item (record fields or an OpenAI Batch body) into the body sent to a provider: a chat completion
/// (messages from the templates) or an embeddings request (input from the user template).
/// </summary>
public sealed class ProviderRequestBuilder(JobRequestSettings settings)
{
    private readonly PromptTemplate _system = PromptTemplate.Parse(settings.SystemTemplate);
    private readonly PromptTemplate _user = PromptTemplate.Parse(settings.UserTemplate);
    private readonly JsonNode? _responseFormat = settings.ResponseFormat is null ? null : JsonNode.Parse(settings.ResponseFormat);

    public JsonObject Build(string payload, string model)
    {
        if (settings.Format == JobInputFormat.OpenAiBatch)
        {
            // The user wrote this body; only the model changes to the resolved target's.
            var body = JsonNode.Parse(payload)!.AsObject();
            body["model"] = model;
            if (settings.MaxTokens is { } cap && body["max_tokens"] is null && body["max_completion_tokens"] is null)
            {
                body["max_tokens"] = cap;
            }
            return body;
        }

        using var record = JsonDocument.Parse(payload);
        if (settings.Endpoint == JobEndpoint.Embeddings)
        {
            var embeddings = new JsonObject { ["model"] = model, ["input"] = _user.Render(record.RootElement) };
            if (settings.Dimensions is { } dimensions)
            {
                embeddings["dimensions"] = dimensions;
            }
            return embeddings;
        }
        var messages = new JsonArray();
        if (!_system.IsEmpty)
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = _system.Render(record.RootElement) });
        }
        messages.Add(new JsonObject { ["role"] = "user", ["content"] = _user.Render(record.RootElement) });
        var request = new JsonObject { ["model"] = model, ["messages"] = messages };
        if (settings.Temperature is { } temperature)
        {
            request["temperature"] = temperature;
        }
        if (settings.MaxTokens is { } maxTokens)
        {
            request["max_tokens"] = maxTokens;
        }
        if (_responseFormat is not null)
        {
            request["response_format"] = _responseFormat.DeepClone();
        }
        return request;
    }
}
