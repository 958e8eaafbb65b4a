namespace AspireBatch.Data.Domain;

public static class Pricing
{
    /// <summary>When a job sets no max_tokens, its cost bound assumes this many output tokens per item.</summary>
    public const int DefaultMaxOutputTokensForEstimate = 4096;

    /// <summary>The output tokens a record's bound assumes: none for embeddings (they are priced by input alone), else its max_tokens or the default.</summary>
    public static int OutputTokensForEstimate(Contracts.JobEndpoint endpoint, int? maxTokens) =>
        endpoint == Contracts.JobEndpoint.Embeddings ? 0 : maxTokens ?? DefaultMaxOutputTokensForEstimate;

    /// <summary>OpenAI's batch discount, used when a provider declares native batches without a discount or prices of its own.</summary>
    public const decimal DefaultBatchDiscountPercent = 50m;

    /// <summary>
    /// A model's price through its provider's native batches: the model's batch price when set, else its real-time
    /// price less the provider's batch discount (50 % when none is given).
    /// </summary>
    public static decimal BatchPrice(decimal realtimePricePerMTok, decimal? batchPricePerMTok, decimal? discountPercent) =>
        batchPricePerMTok ?? Math.Round(realtimePricePerMTok * (100m - Math.Clamp(discountPercent ?? DefaultBatchDiscountPercent, 0m, 100m)) / 100m, 6);

    public static decimal Cost(long inputTokens, long outputTokens, decimal inputPricePerMTok, decimal outputPricePerMTok) =>
        (inputTokens * inputPricePerMTok + outputTokens * outputPricePerMTok) / 1_000_000m;

    /// <summary>
    /// Cached input tokens are part of the input tokens (OpenAI's and DeepSeek's usage both count them there); they
    /// are priced at the cached price when the model has one. Reasoning tokens are part of the output tokens.
    /// </summary>
    public static decimal Cost(long inputTokens, long cachedInputTokens, long outputTokens, decimal inputPricePerMTok, decimal? cachedInputPricePerMTok, decimal outputPricePerMTok)
    {
        var cached = Math.Clamp(cachedInputTokens, 0, inputTokens);
        return ((inputTokens - cached) * inputPricePerMTok + cached * (cachedInputPricePerMTok ?? inputPricePerMTok)
            + outputTokens * outputPricePerMTok) / 1_000_000m;
    }
}
