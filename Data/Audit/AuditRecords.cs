using System.Text.Json;
using System.Text.Json.Nodes;
using AspireBatch.Data.Entities;

namespace AspireBatch.Data.Audit;

/// <summary>
/// Builds audit rows, in one place for the Api's changes and the services' own decisions. Before and after are the
/// resource's JSON with every secret-like property ("apiKey", "secret", "password", "token", ...) replaced by "***",
/// at any depth, so the log never holds what the key store protects.
/// </summary>
public static class AuditRecords
{
    public const string Masked = "***";
    public const string System = "system";
    public const string AdminTeam = "admin";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static AuditEntry Create(string actor, string team, string action, string resourceType, string? resourceId,
        object? before, object? after, DateTimeOffset at) => new()
    {
        At = at,
        Actor = Truncate(actor, 300),
        Team = Truncate(team, 100),
        Action = Truncate(action, 100),
        ResourceType = Truncate(resourceType, 50),
        ResourceId = resourceId is null ? null : Truncate(resourceId, 300),
        Before = MaskedJson(before),
        After = MaskedJson(after),
    };

    /// <summary>The value as JSON with its secrets masked; null stays null. A <see cref="JsonNode"/> given is masked in place.</summary>
    public static string? MaskedJson(object? value)
    {
        if (value is null)
        {
            return null;
        }
        var node = value switch
        {
            JsonNode given => given,
            JsonElement element => JsonNode.Parse(element.GetRawText()),
            _ => JsonSerializer.SerializeToNode(value, value.GetType(), Json),
        };
        Mask(node);
        return node?.ToJsonString();
    }

    /// <summary>
    /// Whether a property's value is a secret, by its name in any casing or separator style (apiKey, api_key, API-KEY):
    /// keys, secrets, passwords, tokens, credentials and connection strings. Counters (inputTokens, tokensPerMinute)
    /// and what only hints at a key (apiKeyLast4, keyId) are not; a true or false under a secret's name (hasApiKey) is kept.
    /// </summary>
    public static bool IsSecret(string propertyName)
    {
        var name = Normalize(propertyName);
        if (IsAmbiguous(name) || name is "accesstoken" or "refreshtoken" or "idtoken" or "authorization" or "passwordhash" or "securitystamp"
            or "credential" or "credentials" or "connectionstring" or "cookie")
        {
            return true;
        }
        // apiKeys, secrets, passwords: a list of them is as secret as one.
        var singular = name.EndsWith('s') ? name[..^1] : name;
        return new[] { "apikey", "secret", "password", "privatekey", "bearertoken" }
            .Any(end => name.EndsWith(end, StringComparison.Ordinal) || singular.EndsWith(end, StringComparison.Ordinal));
    }

    /// <summary>
    /// Names that are secrets as text but also name whole objects ("key": an API key's description in CreatedApiKey):
    /// their text is masked, an object under them is kept and masked inside.
    /// </summary>
    private static bool IsAmbiguous(string normalizedName) => normalizedName is "key" or "token";

    private static void Mask(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var name in obj.Select(p => p.Key).ToList())
                {
                    var child = obj[name];
                    if (child is null || !IsSecret(name))
                    {
                        Mask(child);
                    }
                    else if (child.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
                    {
                        // Whether there is one (hasApiKey) tells nothing of what it is.
                    }
                    else if (child is JsonObject && IsAmbiguous(Normalize(name)))
                    {
                        Mask(child);
                    }
                    else
                    {
                        // A secret's text, or whatever is under a secret's name (an array of keys, an object holding one).
                        obj[name] = Masked;
                    }
                }
                break;
            case JsonArray array:
                foreach (var element in array)
                {
                    Mask(element);
                }
                break;
        }
    }

    private static string Normalize(string name) =>
        name.Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal).ToLowerInvariant();

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];
}
