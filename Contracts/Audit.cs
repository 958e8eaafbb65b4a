using System.Text.Json;

namespace AspireBatch.Contracts;

/// <summary>One recorded change: who, when, what, and the resource before and after, secrets masked as "***".</summary>
public sealed record AuditEntryDto(long Id, DateTimeOffset At, string Actor, string Team, string Action, string ResourceType, string? ResourceId,
    JsonElement? Before, JsonElement? After);

/// <summary>What the audit log records changes of (GET /api/audit?resourceType=...).</summary>
public static class AuditResourceTypes
{
    public const string Provider = "provider";
    /// <summary>A provider's model and its price; its id is providerId/model.</summary>
    public const string Model = "model";
    public const string Alias = "alias";
    public const string Route = "route";
    public const string Job = "job";
    public const string Key = "key";
    public const string Rehearsal = "rehearsal";
    public const string Batch = "batch";
    public const string File = "file";
    /// <summary>An operator account; its id is the account's.</summary>
    public const string User = "user";
    /// <summary>A team's retention policy; its id is the team.</summary>
    public const string RetentionPolicy = "retention-policy";

    public static readonly IReadOnlyList<string> All = [Provider, Model, Alias, Route, Job, Key, Rehearsal, Batch, File, User, RetentionPolicy];
}
