namespace AspireBatch.Data.Entities;

/// <summary>An OpenAI-compatible endpoint. The key is kept only encrypted (Data Protection).</summary>
public sealed class Provider
{
    public Guid Id { get; set; }
    public required string Name { get; set; }
    public required string BaseUrl { get; set; }
    public string? EncryptedApiKey { get; set; }
    public string? ApiKeyLast4 { get; set; }
    public int TimeoutSeconds { get; set; } = 30;
    public int ConnectTimeoutSeconds { get; set; } = 10;
    public int? RequestsPerMinute { get; set; }
    public int? TokensPerMinute { get; set; }
    public int? MaxConcurrency { get; set; }
    public bool Enabled { get; set; } = true;
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public List<ProviderModel> Models { get; set; } = [];
}
