using System.Text.Json;

namespace AspireBatch.Contracts;

/// <summary>One recorded change: who, when, what, and the resource before and after, secrets masked as "***".</summary>
public sealed record AuditEntryDto(long Id, DateTimeOffset At, string Actor, string Team, string Action, string ResourceType, string? ResourceId,
    JsonElement? Before, JsonElement? After);
