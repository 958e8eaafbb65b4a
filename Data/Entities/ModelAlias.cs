namespace AspireBatch.Data.Entities;

/// <summary>Another name for a model (gpt-4 -> gpt-4.1). Resolved once, when a job is created.</summary>
public sealed class ModelAlias
{
    public required string Alias { get; set; }
    public required string ModelName { get; set; }
}
