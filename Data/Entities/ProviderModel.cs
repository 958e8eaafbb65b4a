namespace AspireBatch.Data.Entities;

/// <summary>A model a provider serves, with its price in USD per million tokens and optional limits of its own.</summary>
public sealed class ProviderModel
{
    public Guid Id { get; set; }
    public Guid ProviderId { get; set; }
    public Provider? Provider { get; set; }
    public required string Name { get; set; }
    public decimal InputPricePerMTok { get; set; }
    public decimal OutputPricePerMTok { get; set; }
    /// <summary>Price of cached input tokens; null = the input price.</summary>
    public decimal? CachedInputPricePerMTok { get; set; }
    /// <summary>Prices through the provider's native batches; null = the real-time price less the provider's batch discount.</summary>
    public decimal? BatchInputPricePerMTok { get; set; }
    public decimal? BatchOutputPricePerMTok { get; set; }
    /// <summary>Applies on top of the provider's limits, shared by every worker like them.</summary>
    public int? RequestsPerMinute { get; set; }
    public int? TokensPerMinute { get; set; }
}
