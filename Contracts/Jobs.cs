namespace AspireBatch.Contracts;

public sealed record JobDto(
    Guid Id,
    string? Name,
    JobState State,
    string? StateReason,
    JobInputFormat InputFormat,
    string RequestedModel,
    string? RouteName,
    string? ProviderName,
    string? ModelName,
    double? Temperature,
    int? MaxTokens,
    string? SystemTemplate,
    string? UserTemplate,
    JobCounters Counters,
    JobEstimate Estimate,
    decimal? BudgetUsd,
    int? RequestsPerMinuteCap,
    string? TraceId,
    bool IsBatch,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? CompletedAt,
    string? TemplateHash = null,
    string? ParametersHash = null,
    bool? Dedup = null,
    int DeduplicatedItems = 0,
    IReadOnlyList<AnswerFieldDto>? AnswerFields = null,
    JobEndpoint Endpoint = JobEndpoint.ChatCompletions,
    int? Dimensions = null,
    int? ResponseCacheTtlSeconds = null,
    int CachedItems = 0,
    JobMode Mode = JobMode.Realtime,
    DateTimeOffset? Deadline = null,
    JobPurgeDto? Purged = null);

/// <summary>
/// Progress read from counters kept with every batch of results; rate is items per second since start.
/// <see cref="CostUsd"/> is what providers charged (answers, and refusals or empty answers they billed);
/// <see cref="EstimatedUsageCostUsd"/> is the part of it priced from estimated usage (the provider sent none);
/// in-doubt calls were lost with their worker, may have been charged, and are not in <see cref="CostUsd"/>.
/// </summary>
public sealed record JobCounters(
    int Total,
    int Pending,
    int Succeeded,
    int Failed,
    int Cancelled,
    long InputTokens,
    long OutputTokens,
    decimal CostUsd,
    double ItemsPerSecond,
    double? EtaSeconds,
    long CachedInputTokens = 0,
    long ReasoningTokens = 0,
    decimal EstimatedUsageCostUsd = 0,
    int InDoubtCalls = 0,
    decimal InDoubtCostUsd = 0)
{
    public int Done => Succeeded + Failed + Cancelled;
    public double Progress => Total == 0 ? 0 : (double)Done / Total;
    /// <summary>Share of the cost priced from estimated usage, 0 to 1.</summary>
    public double EstimatedCostShare => CostUsd == 0 ? 0 : (double)(EstimatedUsageCostUsd / CostUsd);
}

/// <summary>What a job will cost at most before it runs: input tokens counted with a tokenizer, output bounded by max_tokens.</summary>
/// <remarks>
/// <see cref="DeduplicatedCalls"/> is how many records take the answer of an identical earlier record of the job
/// instead of a call of their own: the job makes <c>Items - DeduplicatedCalls</c> calls (before retries). The token
/// and cost bounds count every record, so they stay bounds with or without dedup.
/// </remarks>
/// <see cref="CachedCalls"/> is how many records the response cache answered at import (only for a job that opted in).
/// <see cref="BatchCostBoundUsd"/> is the same bound at the provider's native batch price, when its provider sells batches
/// (null otherwise): what a provider-batch job pays at most, and an auto job if the deadline lets every record wait.
public sealed record JobEstimate(int Items, long InputTokens, long MaxOutputTokens, decimal CostBoundUsd, string PricedModel, int DeduplicatedCalls = 0,
    int CachedCalls = 0, decimal? BatchCostBoundUsd = null);

public sealed record ItemSummaryDto(
    long Id,
    string CustomId,
    int LineNumber,
    ItemState State,
    int Attempts,
    string? ErrorCode,
    string? ErrorMessage,
    int? InputTokens,
    int? OutputTokens,
    decimal? CostUsd,
    int? LatencyMs,
    string? ProviderName,
    string? ModelName,
    DateTimeOffset? CompletedAt,
    string? UsageSource = null,
    int InDoubtCalls = 0,
    decimal InDoubtCostUsd = 0,
    DuplicateOfDto? DuplicateOf = null);

/// <summary>The record of the same job that was sent and paid for this one, whose answer this one took.</summary>
public sealed record DuplicateOfDto(long ItemId, string CustomId);

public sealed record ItemDetailDto(
    ItemSummaryDto Summary,
    string Payload,
    string RenderedRequest,
    string? ResponseText,
    string? ResponseBody,
    string? FinishReason,
    string? ResponseModel,
    int? StatusCode,
    IReadOnlyList<AttemptDto> AttemptHistory,
    int? CachedInputTokens = null,
    int? ReasoningTokens = null,
    int InternalErrors = 0,
    ItemLineageDto? Lineage = null,
    EmbeddingDto? Embedding = null);

/// <summary>
/// The vectors an embeddings record got: how many (one per input), their size, the first values of the first one and
/// its Euclidean norm. The whole vectors come with the exports.
/// </summary>
public sealed record EmbeddingDto(int Count, int Dimensions, IReadOnlyList<float> Head, double Norm);

/// <summary>
/// Where a record's result came from: the job, hashes of its templates and request parameters, the route and the
/// target's position in it (0 = first; null on a single model), the provider, the model asked for and the one that
/// answered, the provider's response id (<c>gen_ai.response.id</c>), the attempt (1-based, across the record's life)
/// and whether the usage was reported or estimated. Route and requested model are the job's: a record answered
/// before a Move unanswered shows the job's target after it.
/// </summary>
public sealed record ItemLineageDto(
    Guid JobId,
    string? TemplateHash,
    string? ParametersHash,
    string? RouteName,
    int? RoutePosition,
    string? ProviderName,
    string RequestedModel,
    string? ModelName,
    string? ResponseModel,
    string? ResponseId,
    int? Attempt,
    string? UsageSource,
    CachedFromDto? CachedFrom = null,
    Guid? ProviderBatchId = null);

/// <summary>The record of an earlier job whose answer the response cache gave this one.</summary>
public sealed record CachedFromDto(Guid JobId, long ItemId);

public sealed record AttemptDto(
    int Number,
    string ProviderName,
    string ModelName,
    int? StatusCode,
    string? ErrorCode,
    string? ErrorMessage,
    int LatencyMs,
    int WaitMs,
    bool Fallback,
    DateTimeOffset StartedAt,
    int? InputTokens = null,
    int? OutputTokens = null,
    decimal? CostUsd = null,
    string? UsageSource = null,
    decimal? PossibleCostUsd = null);

public sealed record PagedResult<T>(IReadOnlyList<T> Items, int Page, int PageSize, long TotalCount);

public sealed record RetryFailedRequest(string? ErrorCode = null);

public sealed record RetryFailedResult(int Requeued);

/// <summary>
/// Send a job's records that are not answered yet to another model, alias or route: every pending record, and the
/// failed ones too unless <paramref name="IncludeFailed"/> is false (only those with <paramref name="ErrorCode"/> when given).
/// </summary>
public sealed record MoveLeftoversRequest(string Model, bool IncludeFailed = true, string? ErrorCode = null);

/// <summary>The job as it is now, on its new target, and how many records are left for it (failed ones requeued included).</summary>
public sealed record MoveLeftoversResult(JobDto Job, int Requeued, int Unanswered);

public sealed record JobSettingsRequest(int? RequestsPerMinuteCap, decimal? BudgetUsd);

/// <summary>A template rendered on a file's first records, before a job is created.</summary>
/// <param name="AnswerFields">The typed columns the answers will have: the top-level properties a json_schema
/// response format declares (<c>answer.&lt;name&gt;</c> and the schema's type); empty without one.</param>
public sealed record TemplatePreview(IReadOnlyList<RenderedRecord> Records, JobEstimate Estimate, IReadOnlyList<AnswerFieldDto>? AnswerFields = null);

/// <summary>A field of the answer a schema declares: the path to ask for (<c>answer.sentiment</c>), its name and JSON type.</summary>
public sealed record AnswerFieldDto(string Path, string Name, string Type);

/// <summary>
/// How often each value of an answer field occurs over a job's succeeded items: the 20 most frequent values, the
/// rest summed in <paramref name="Other"/>, and <paramref name="Missing"/> the succeeded items whose answer is not
/// JSON or lacks the field.
/// </summary>
public sealed record FieldDistribution(string Field, IReadOnlyList<FieldValueCount> Values, long Other, long Missing);

public sealed record FieldValueCount(string Value, long Count);

public sealed record RenderedRecord(string Id, int LineNumber, string? System, string User);

/// <summary>One transition in a job's history: what moved it, from which state to which, who, why, and when.</summary>
public sealed record JobEventDto(long Id, DateTimeOffset At, JobEventKind Kind, JobState? From, JobState To, JobActor Actor, string? Reason, int? Items);
