namespace AspireBatch.Data.Seeding;

/// <summary>The figures of the migration playbook the product grew from (shared/seed): prices in USD per MTok and aliases.</summary>
public static class SeedCatalog
{
    /// <summary>The playbook gives one price per model; it stands for input and output alike until an operator edits it.</summary>
    public static readonly IReadOnlyDictionary<string, decimal> Prices = new Dictionary<string, decimal>
    {
        ["deepseek-chat"] = 0.42m,
        ["gpt-4.1"] = 8m,
        ["claude-sonnet-4-5"] = 15m,
        ["gemini-2.5-flash"] = 2.50m,
    };

    /// <summary>
    /// Embedding models, priced per input token (the playbook names none; this is OpenAI's list price of
    /// text-embedding-3-small, and the simulators serve it so embeddings run without keys).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, decimal> EmbeddingPrices = new Dictionary<string, decimal>
    {
        ["text-embedding-3-small"] = 0.02m,
    };

    public static readonly IReadOnlyDictionary<string, string> Aliases = new Dictionary<string, string>
    {
        ["gpt-4"] = "gpt-4.1",
        ["gpt-3.5-turbo"] = "deepseek-chat",
        ["claude-3-sonnet"] = "claude-sonnet-4-5",
        ["gemini-pro"] = "gemini-2.5-flash",
        ["deepseek"] = "deepseek-chat",
    };

    /// <summary>The route a fresh stack offers: the fast simulator first, the slow one as its fallback.</summary>
    public const string DefaultRouteName = "default";
    public const string DefaultRouteModel = "deepseek-chat";
}
