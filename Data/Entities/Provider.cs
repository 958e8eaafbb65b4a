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
    /// <summary>The provider sells its models through its own /v1/files + /v1/batches (OpenAI's Batch API shapes).</summary>
    public bool SupportsNativeBatch { get; set; }
    /// <summary>Discount of a batch on the real-time price, in percent (OpenAI: 50), for models without a batch price of their own.</summary>
    public decimal? BatchDiscountPercent { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public List<ProviderModel> Models { get; set; } = [];
}
