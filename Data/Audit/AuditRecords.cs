using System.Text.Json;
using System.Text.Json.Nodes;
using AspireBatch.Data.Entities;

namespace AspireBatch.Data.Audit;

/// <summary>
/// Builds audit rows, in one place for the Api's changes and the services' own decisions. Before and after are the
/// resource's JSON with every secret-like property ("apiKey", "secret", "password", "token", ...) replaced by "***",
/// so the log never holds what the key store protects.
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

    /// <summary>The value as JSON with its secrets masked; null stays null.</summary>
    public static string? MaskedJson(object? value)
    {
        if (value is null)
        {
            return null;
        }
        var node = value as JsonNode ?? JsonSerializer.SerializeToNode(value, value.GetType(), Json);
        Mask(node);
        return node?.ToJsonString();
    }

    public static bool IsSecret(string propertyName)
    {
        var name = propertyName.ToLowerInvariant();
        return name is "key" or "token" or "accesstoken" or "refreshtoken" or "authorization" or "passwordhash" or "securitystamp"
            || name.EndsWith("apikey", StringComparison.Ordinal) || name.EndsWith("secret", StringComparison.Ordinal)
            || name.EndsWith("password", StringComparison.Ordinal);
    }

    private static void Mask(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var name in obj.Select(p => p.Key).ToList())
                {
                    if (IsSecret(name) && obj[name] is JsonValue)
                    {
                        obj[name] = Masked;
                    }
                    else
                    {
                        Mask(obj[name]);
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

    private static string Truncate(string value, int length) => value.Length <= length ? value : value[..length];
}
