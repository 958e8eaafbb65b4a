using System.Text.Json.Serialization;

namespace AspireBatch.Simulator.Contracts;

/// <summary>Body of <c>PUT /admin/config</c>: only the fields present (and not null) change. Unknown fields are rejected.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record SimulatorConfigPatch(
    string[]? Models = null,
    int? LatencyMs = null,
    int? LatencyJitterMs = null,
    int? RequestsPerMinute = null,
    int? TokensPerMinute = null,
    double? Error500Rate = null,
    double? Error503Rate = null,
    double? TimeoutRate = null,
    int? TimeoutHangMs = null,
    double? ResetRate = null,
    double? MalformedJsonRate = null,
    int? Seed = null,
    double? Error429Rate = null,
    int? RetryAfterMs = null,
    RetryAfterFormat? RetryAfterFormat = null,
    double? CorpusRate = null,
    string[]? CorpusShapes = null,
    string[]? Labels = null,
    double? DisagreeRate = null,
    string? AnswerSalt = null,
    int? BatchTurnaroundMs = null,
    double? BatchLineFailureRate = null,
    int? BatchExpireAfterMs = null,
    int? FileMaxBytes = null,
    long? FileStoreMaxBytes = null,
    double? SchemaViolationRate = null,
    bool? SchemaViolationOnReask = null,
    int? EmbeddingDimensions = null);

/// <summary>
/// Counters of <c>GET /admin/stats</c>, about the /v1 API only, since start or the last reset. <see cref="CorpusReplays"/>:
/// corpus replays by entry name, whether a marker asked for them or <c>CorpusRate</c> drew them (entries never replayed are absent).
/// </summary>
public sealed record SimulatorStats(
    long TotalRequests,
    IReadOnlyDictionary<int, long> StatusCodes,
    long RateLimited,
    long RateLimitedByRequests,
    long RateLimitedByTokens,
    FaultCounts Faults,
    IReadOnlyDictionary<string, long> CorpusReplays,
    long PromptTokens,
    long CompletionTokens,
    long Aborted,
    long InFlight,
    long MaxInFlight,
    DateTimeOffset Since)
{
    /// <summary>Chat completion requests received, answered or not: what a provider may bill, to compare with a ledger.</summary>
    public long ChatRequests { get; init; }

    public long EmbeddingRequests { get; init; }

    /// <summary>Answers drawn by <c>SchemaViolationRate</c> to break the request's JSON schema (sent as 200s, not faults).</summary>
    public long SchemaViolations { get; init; }

    /// <summary>Native batches: what happened to their lines (not counted in the request, token or fault counters above).</summary>
    public BatchCounts Batches { get; init; } = BatchCounts.Zero;
}

/// <summary>
/// Counters of native batches. <see cref="LinesAnswered"/> counts each line answered with a 200 once, when it is answered, so
/// a test can check that no record was answered twice; <see cref="LinesFailed"/> counts lines written to an error file with
/// an HTTP status (drawn 500s, 400s for bad bodies or URLs), <see cref="LinesExpired"/> those a batch's expiry left unanswered.
/// </summary>
public sealed record BatchCounts(long Created, long LinesAnswered, long LinesFailed, long LinesExpired, long PromptTokens, long CompletionTokens)
{
    public static BatchCounts Zero { get; } = new(0, 0, 0, 0, 0, 0);
}

/// <summary>Faults injected, by kind; <see cref="Corpus"/> counts the replays drawn by <c>CorpusRate</c> (not those asked by a marker).</summary>
public sealed record FaultCounts(long Error500, long Error503, long Timeout, long Reset, long MalformedJson, long Error429, long Corpus)
{
    public long Total => Error500 + Error503 + Timeout + Reset + MalformedJson + Error429 + Corpus;
}

/// <summary>An entry of <c>GET /admin/corpus</c>.</summary>
public sealed record CorpusEntrySummary(string Name, string Provider, int Status, string Source);
