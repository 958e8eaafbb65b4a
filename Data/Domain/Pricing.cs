namespace AspireBatch.Data.Domain;

public static class Pricing
{
    /// <summary>When a job sets no max_tokens, its cost bound assumes this many output tokens per item.</summary>
    public const int DefaultMaxOutputTokensForEstimate = 4096;

    public static decimal Cost(long inputTokens, long outputTokens, decimal inputPricePerMTok, decimal outputPricePerMTok) =>
        (inputTokens * inputPricePerMTok + outputTokens * outputPricePerMTok) / 1_000_000m;
}
