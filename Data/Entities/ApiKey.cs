namespace AspireBatch.Data.Entities;

/// <summary>
/// A team's key to the Api. Only a SHA-256 hash of the secret is kept (the secret is 32 random bytes, so a fast hash
/// is as safe as a slow one), with a short prefix to tell keys apart on screen. Revoked keys stay, for the audit trail.
/// </summary>
public sealed class ApiKey
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string Team { get; set; }
    /// <summary><see cref="Contracts.ApiScopes"/>.</summary>
    public string[] Scopes { get; set; } = [];
    public required byte[] Hash { get; set; }
    public required string Prefix { get; set; }
    /// <summary>Requests per minute this key may make on the Api; null: no limit.</summary>
    public int? RequestsPerMinute { get; set; }
    /// <summary>What the jobs this key creates may cost in a calendar month (UTC); reaching it refuses new jobs and pauses running ones.</summary>
    public decimal? MonthlyBudgetUsd { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? LastUsedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}
