using Microsoft.ML.Tokenizers;

namespace AspireBatch.Data.Domain;

/// <summary>Counts input tokens with the o200k tokenizer (gpt-4o family): a close estimate for other models too.</summary>
public static class TokenCounter
{
    /// <summary>Per-message framing tokens OpenAI's chat format adds.</summary>
    public const int PerMessageOverhead = 4;

    private static readonly Lazy<Tokenizer> Tokenizer = new(() => TiktokenTokenizer.CreateForModel("gpt-4o"));

    public static int Count(string? text) => string.IsNullOrEmpty(text) ? 0 : Tokenizer.Value.CountTokens(text);

    public static int CountMessages(IEnumerable<string?> contents) => contents.Sum(c => Count(c) + PerMessageOverhead);
}
