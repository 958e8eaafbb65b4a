using System.Text.Json;
using System.Text.Json.Nodes;
using AspireBatch.Api.Apis;
using AspireBatch.Api.Services.OpenAi;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace AspireBatch.Api.Infrastructure;

/// <summary>
/// Gives the OpenAPI document an example for every object the Api reads or answers. Each example is an instance of the
/// record itself, serialized the way responses are, so it changes with the record (a renamed or removed field breaks the
/// build, not the documentation). They tell one story: a 120,000-review job on route "reviews" (deepseek/deepseek-chat,
/// then openai/gpt-4.1) that rolled back when DeepSeek's mean latency went over 500 ms.
/// </summary>
internal sealed partial class OpenApiExamples : IOpenApiSchemaTransformer
{
    private static readonly Dictionary<Type, Func<object>> Examples = new()
    {
        [typeof(JobDto)] = Job,
        [typeof(ApiKeyDto)] = ApiKey,
        [typeof(IReadOnlyList<ApiKeyDto>)] = () => new List<ApiKeyDto> { ApiKey() },
        [typeof(CreatedApiKey)] = () => new CreatedApiKey(ApiKey(), "abk_Jq3v0m2Xc9Lr7TzA1sWkQe5Yh8NbFgUiOpDa6ZxC4Vn"),
        [typeof(CreateApiKeyRequest)] = () => new CreateApiKeyRequest("support nightly import", "support", [ApiScopes.Jobs, ApiScopes.Batches], 600, 50m),
        [typeof(AccountDto)] = Account,
        [typeof(IReadOnlyList<AccountDto>)] = () => new List<AccountDto> { Account() },
        [typeof(CreateAccountRequest)] = () => new CreateAccountRequest("mina", "Reviews-Night-Shift-7!", AccountRoles.Operator),
        [typeof(UpdateAccountRequest)] = () => new UpdateAccountRequest(Role: AccountRoles.Viewer),
        [typeof(SignInRequest)] = () => new SignInRequest("mina", "Reviews-Night-Shift-7!"),
        [typeof(CallerDto)] = () => new CallerDto("mina", "account", AccountRoles.Operator, ApiScopes.AdminTeam, AccountRoles.Scopes(AccountRoles.Operator)),
        [typeof(AuditEntryDto)] = AuditEntry,
        [typeof(PagedResult<AuditEntryDto>)] = () => new PagedResult<AuditEntryDto>([AuditEntry()], 1, 50, 1),
        [typeof(JobCounters)] = Counters,
        [typeof(JobEstimate)] = Estimate,
        [typeof(JobCreated)] = Created,
        [typeof(TemplatePreview)] = Preview,
        [typeof(RenderedRecord)] = () => Preview().Records[0],
        [typeof(AnswerFieldDto)] = () => Preview().AnswerFields![0],
        [typeof(FieldDistribution)] = Distribution,
        [typeof(FieldValueCount)] = () => Distribution().Values[0],
        [typeof(PagedResult<JobDto>)] = () => new PagedResult<JobDto>([Job()], 1, 20, 1),
        [typeof(ItemSummaryDto)] = Item,
        [typeof(PagedResult<ItemSummaryDto>)] = () => new PagedResult<ItemSummaryDto>([Item(), FailedItem()], 1, 50, 120_000),
        [typeof(ItemDetailDto)] = ItemDetail,
        [typeof(AttemptDto)] = () => Attempts()[0],
        [typeof(ItemLineageDto)] = () => ItemDetail().Lineage!,
        [typeof(RetryFailedRequest)] = () => new RetryFailedRequest("http_429"),
        [typeof(RetryFailedResult)] = () => new RetryFailedResult(340),
        [typeof(MoveLeftoversRequest)] = () => new MoveLeftoversRequest("cheap-route", IncludeFailed: true, ErrorCode: "http_503"),
        [typeof(MoveLeftoversResult)] = () => new MoveLeftoversResult(Job(), 1_204, 58_310),
        [typeof(JobPurged)] = () => new JobPurged(
            Job() with { State = JobState.Completed, Purged = new JobPurgeDto(CreatedAt.AddDays(30), 60_000, 52_428_800) }, 60_000, 52_428_800, 61_204),
        [typeof(JobSettingsRequest)] = () => new JobSettingsRequest(RequestsPerMinuteCap: 600, BudgetUsd: 25m),
        [typeof(CreateJobForm)] = JobForm,
        [typeof(JobProviderBatches)] = ProviderBatches,
        [typeof(ProviderBatchDto)] = () => ProviderBatches().Batches[0],
        [typeof(JobTimeseries)] = Timeseries,
        [typeof(JobTimeBucket)] = () => Timeseries().Buckets[0],
        [typeof(JobEventDto)] = () => new JobEventDto(81_201, CreatedAt.AddMinutes(42), JobEventKind.Paused, JobState.Running, JobState.Paused, JobActor.Budget,
            "budget reached: 25.004100 of 25.000000 USD", null),

        [typeof(ProviderDto)] = DeepSeek,
        [typeof(ProviderRequest)] = ProviderRequest,
        [typeof(ModelPriceDto)] = () => DeepSeek().Models[0],
        [typeof(ConnectionTestResult)] = () => new ConnectionTestResult(true, 200, 184, "connected: 2 models", ["deepseek-chat", "deepseek-reasoner"]),
        [typeof(ModelAliasDto)] = () => new ModelAliasDto("gpt-4", "gpt-4.1"),
        [typeof(CatalogDto)] = Catalog,
        [typeof(CatalogModelDto)] = () => Catalog().Models[0],
        [typeof(ResolvedName)] = Resolved,
        [typeof(ResolvedRouteTarget)] = () => Resolved().RouteTargets[0],
        [typeof(ProviderHealthDto)] = Health,
        [typeof(ProviderHealthCheck)] = () => Health().LastCheck!,

        [typeof(RouteDto)] = Route,
        [typeof(RouteTargetDto)] = () => Route().Targets[0],
        [typeof(RouteThresholds)] = () => new RouteThresholds(),
        [typeof(RouteRequest)] = RouteRequest,
        [typeof(RouteTargetRequest)] = () => RouteRequest().Targets[0],
        [typeof(RouteSwitchRequest)] = () => new RouteSwitchRequest("mean latency 612 ms > 500 ms on deepseek since 09:40"),
        [typeof(RollbackEventDto)] = Rollback,
        [typeof(RouteWindowDto)] = Window,
        [typeof(RouteTargetsWindowDto)] = TargetsWindow,
        [typeof(RouteTargetWindowDto)] = () => TargetsWindow().Targets[0],

        [typeof(RehearsalRequest)] = RehearsalRequest,
        [typeof(RehearsalTargetRequest)] = () => RehearsalRequest().Targets[0],
        [typeof(SampleRequest)] = () => RehearsalRequest().Sample,
        [typeof(JudgeRequest)] = () => RehearsalRequest().Judge!,
        [typeof(CreateRehearsalForm)] = RehearsalForm,
        [typeof(RehearsalDto)] = Rehearsal,
        [typeof(RehearsalTargetReport)] = () => Rehearsal().Targets[1],
        [typeof(LatencyBin)] = () => Rehearsal().Targets[1].LatencyHistogram[0],
        [typeof(ConfusionMatrix)] = () => Rehearsal().ConfusionMatrices[0],
        [typeof(RehearsalSummaryDto)] = RehearsalSummary,
        [typeof(IReadOnlyList<RehearsalSummaryDto>)] = () => new List<RehearsalSummaryDto> { RehearsalSummary() },
        [typeof(RehearsalRecordDto)] = RehearsalRecord,
        [typeof(RehearsalAnswer)] = () => RehearsalRecord().Answers[1],
        [typeof(PagedResult<RehearsalRecordDto>)] = () => new PagedResult<RehearsalRecordDto>([RehearsalRecord()], 1, 50, 38),
        [typeof(AdoptionProposal)] = Proposal,
        [typeof(AdoptRequest)] = () => new AdoptRequest(1, "reviews", Proposal().Thresholds, "cheaper at 92 % agreement"),
        [typeof(RouteAdoptionDto)] = Adoption,

        [typeof(UsageSummary)] = LastHour,
        [typeof(UsageByKey)] = () => new UsageByKey("deepseek-chat", LastHour()),
        [typeof(UsageByDay)] = () => new UsageByDay(new DateOnly(2026, 11, 2), "deepseek-chat", LastDay()),
        [typeof(OverviewDto)] = () => new OverviewDto([Job()], LastHour(), LastDay(), [Rollback()]),
        [typeof(ProviderComparison)] = Comparison,

        [typeof(OpenAiUploadForm)] = () => new OpenAiUploadForm
        {
            Purpose = FileStore.BatchPurpose, ExpiresAfterAnchor = ExpiresAfter.Anchor, ExpiresAfterSeconds = 604_800,
        },
        [typeof(FileExpiresAfter)] = () => new FileExpiresAfter(ExpiresAfter.Anchor, 2_592_000),
        [typeof(RetentionPolicyDto)] = RetentionPolicy,
        [typeof(IReadOnlyList<RetentionPolicyDto>)] = () => new List<RetentionPolicyDto> { RetentionPolicy() },
        [typeof(RetentionPolicyRequest)] = () => new RetentionPolicyRequest(RetentionPolicy().PurgeFinishedJobsAfterDays),
        [typeof(OpenAiFile)] = InputFile,
        [typeof(OpenAiList<OpenAiFile>)] = () => new OpenAiList<OpenAiFile>([InputFile()], InputFile().Id, InputFile().Id, HasMore: false),
        [typeof(OpenAiFileDeleted)] = () => new OpenAiFileDeleted(InputFile().Id),
        [typeof(CreateBatchRequest)] = () => new CreateBatchRequest(InputFile().Id, JobEndpoints.ChatCompletionsPath, BatchService.CompletionWindow,
            new Dictionary<string, string> { ["team"] = "reviews" }, new FileExpiresAfter(ExpiresAfter.Anchor, 2_592_000)),
        [typeof(OpenAiBatch)] = Batch,
        [typeof(OpenAiList<OpenAiBatch>)] = () => new OpenAiList<OpenAiBatch>([Batch()], Batch().Id, Batch().Id, HasMore: false),
        [typeof(BatchErrors)] = () => new BatchErrors([BadLine()]),
        [typeof(BatchError)] = BadLine,
        [typeof(BatchRequestCounts)] = () => Batch().RequestCounts,
        [typeof(BatchUsage)] = () => Batch().Usage,
        [typeof(InputTokensDetails)] = () => Batch().Usage.InputTokensDetails,
        [typeof(OutputTokensDetails)] = () => Batch().Usage.OutputTokensDetails,
    };

    public Task TransformAsync(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        // Only the schema of the exact type; a property's own example (if one is ever written) wins.
        if (schema.Examples is not { Count: > 0 } && Examples.TryGetValue(context.JsonTypeInfo.Type, out var example))
        {
            var node = JsonSerializer.SerializeToNode(example(), context.JsonTypeInfo);
            // A form sends only the fields it has, and its file cannot be shown: drop what the example leaves empty.
            if (context.JsonTypeInfo.Type == typeof(CreateJobForm) || context.JsonTypeInfo.Type == typeof(CreateRehearsalForm) || context.JsonTypeInfo.Type == typeof(OpenAiUploadForm))
            {
                foreach (var empty in node!.AsObject().Where(p => p.Value is null).Select(p => p.Key).ToList())
                {
                    node.AsObject().Remove(empty);
                }
            }
            // OpenAPI 3.1 schemas carry JSON Schema's `examples`; the single `example` is deprecated (obsolete in Microsoft.OpenApi 2).
            schema.Examples = [node!];
        }
        return Task.CompletedTask;
    }

    // Fixed ids and times: the document is the same on every request and every machine.
    private static readonly Guid JobId = Guid.Parse("019a4b2e-7c15-7d3a-9f42-6b1e8c0d5a37");

    private static ApiKeyDto ApiKey() => new(Guid.Parse("019ad9b0-1c2e-7f4a-8b3d-5e6f7a8b9c0d"), "support nightly import", "support",
        [ApiScopes.Jobs, ApiScopes.Batches], "abk_Jq3v0m2X", 600, 50m, 12.4071m, DateTimeOffset.Parse("2026-12-01T09:00:00Z"),
        DateTimeOffset.Parse("2026-12-01T17:42:00Z"), null);
    private static readonly Guid DeepSeekId = Guid.Parse("0199a0c1-3b1c-7e44-8d2a-5c9b1e7f3a21");
    private static readonly Guid OpenAiId = Guid.Parse("0199a0c1-4d7e-7a10-b3c5-8e2f6a9d1c04");
    private static readonly Guid RouteId = Guid.Parse("0199a0c2-05f3-7b86-a1d9-2e7c4f8b6a13");
    private static readonly DateTimeOffset CreatedAt = new(2026, 11, 2, 9, 14, 5, TimeSpan.Zero);
    private static readonly DateTimeOffset Started = CreatedAt.AddSeconds(2);
    private static readonly DateTimeOffset RolledBack = new(2026, 11, 2, 9, 41, 30, TimeSpan.Zero);

    private static JobEstimate Estimate() =>
        // 58 input tokens per review, max_tokens 16, deepseek-chat at $0.42 per million tokens in and out.
        new(Items: 120_000, InputTokens: 6_960_000, MaxOutputTokens: 1_920_000, CostBoundUsd: 3.7296m, PricedModel: "deepseek-chat");

    private static JobCounters Counters() =>
        new(Total: 120_000, Pending: 38_210, Succeeded: 81_450, Failed: 340, Cancelled: 0,
            InputTokens: 4_743_820, OutputTokens: 245_370, CostUsd: 2.0955m, ItemsPerSecond: 91.4, EtaSeconds: 418);

    private static JobDto Job() => new(
        Id: JobId, Name: "reviews-2026-11", State: JobState.Running, StateReason: null, InputFormat: JobInputFormat.Jsonl,
        RequestedModel: "reviews", RouteName: "reviews", ProviderName: "deepseek", ModelName: "deepseek-chat",
        Temperature: 0, MaxTokens: 16, SystemTemplate: "You label customer reviews. Answer with one word.",
        UserTemplate: "Classify the sentiment as positive or negative: {{text}}",
        Counters: Counters(), Estimate: Estimate(), BudgetUsd: 25m, RequestsPerMinuteCap: null,
        TraceId: "4bf92f3577b34da6a3ce929d0e0e4736", IsBatch: false, CreatedAt: CreatedAt, StartedAt: Started, CompletedAt: null,
        TemplateHash: LineageHash.Templates("You label customer reviews. Answer with one word.", "Classify the sentiment as positive or negative: {{text}}"),
        ParametersHash: LineageHash.Parameters(0, 16, null));

    // A job just created: queued, nothing done yet.
    private static JobCreated Created() => new(
        Job() with { State = JobState.Queued, StartedAt = null, Counters = new JobCounters(120_000, 120_000, 0, 0, 0, 0, 0, 0m, 0, null) },
        Estimate());

    private static TemplatePreview Preview() => new(
        [
            new RenderedRecord("r1", 1, Job().SystemTemplate, "Classify the sentiment as positive or negative: Great product, fast delivery"),
            new RenderedRecord("r2", 2, Job().SystemTemplate, "Classify the sentiment as positive or negative: Broke after a day"),
        ],
        Estimate(),
        [new AnswerFieldDto("answer.sentiment", "sentiment", "string"), new AnswerFieldDto("answer.topics", "topics", "array")]);

    // The sentiment labels of the finished job; 12 answers were not JSON.
    private static FieldDistribution Distribution() => new("answer.sentiment",
        [new FieldValueCount("positive", 71_420), new FieldValueCount("negative", 40_118), new FieldValueCount("neutral", 8_430)], 0, 12);

    private static CreateJobForm JobForm() => new()
    {
        Format = "jsonl", Model = "reviews", Name = "reviews-2026-11", SystemTemplate = Job().SystemTemplate, UserTemplate = Job().UserTemplate,
        Temperature = 0, MaxTokens = 16, BudgetUsd = 25m,
    };

    // The first three minutes of the run, in 60 s buckets: a 429 burst in the second minute.
    private static JobTimeseries Timeseries() => new(JobId, 60,
    [
        new JobTimeBucket(new DateTimeOffset(2026, 11, 2, 9, 14, 0, TimeSpan.Zero), Calls: 5_410, Succeeded: 5_402, Errors: 8, MeanLatencyMs: 398.2, P95LatencyMs: 870,
            InputTokens: 313_780, OutputTokens: 16_230, CostUsd: 0.13860m),
        new JobTimeBucket(new DateTimeOffset(2026, 11, 2, 9, 15, 0, TimeSpan.Zero), Calls: 5_980, Succeeded: 5_610, Errors: 370, MeanLatencyMs: 405.9, P95LatencyMs: 912,
            InputTokens: 325_380, OutputTokens: 16_830, CostUsd: 0.14373m),
        new JobTimeBucket(new DateTimeOffset(2026, 11, 2, 9, 16, 0, TimeSpan.Zero), Calls: 5_495, Succeeded: 5_488, Errors: 7, MeanLatencyMs: 401.4, P95LatencyMs: 884,
            InputTokens: 318_300, OutputTokens: 16_464, CostUsd: 0.14060m, InDoubtCalls: 2),
    ]);

    private static ItemSummaryDto Item() => new(
        Id: 81_452, CustomId: "r-10482", LineNumber: 10_482, State: ItemState.Succeeded, Attempts: 2, ErrorCode: null, ErrorMessage: null,
        InputTokens: 61, OutputTokens: 1, CostUsd: 0.00002604m, LatencyMs: 412, ProviderName: "deepseek", ModelName: "deepseek-chat",
        CompletedAt: Started.AddMinutes(14));

    private static ItemSummaryDto FailedItem() => Item() with
    {
        Id = 81_453, CustomId = "r-10483", LineNumber = 10_483, State = ItemState.Failed, Attempts = 5, ErrorCode = "http_429",
        ErrorMessage = "Rate limit reached for requests", InputTokens = null, OutputTokens = null, CostUsd = null, LatencyMs = 88,
    };

    private static List<AttemptDto> Attempts() =>
    [
        new(1, "deepseek", "deepseek-chat", 429, "http_429", "Rate limit reached for requests", LatencyMs: 85, WaitMs: 0, Fallback: false, Started.AddMinutes(14)),
        // The second try waited the provider's Retry-After of 1 s.
        new(2, "deepseek", "deepseek-chat", 200, null, null, LatencyMs: 412, WaitMs: 1000, Fallback: false, Started.AddMinutes(14).AddSeconds(1.1)),
    ];

    private static ItemDetailDto ItemDetail() => new(
        Item(),
        Payload: """{"id":"r-10482","text":"Great product, fast delivery"}""",
        RenderedRequest: """{"model":"deepseek-chat","messages":[{"role":"system","content":"You label customer reviews. Answer with one word."},{"role":"user","content":"Classify the sentiment as positive or negative: Great product, fast delivery"}],"temperature":0,"max_tokens":16}""",
        ResponseText: "positive",
        ResponseBody: """{"id":"chatcmpl-8d1f3c2a","object":"chat.completion","created":1793611688,"model":"deepseek-chat","choices":[{"index":0,"message":{"role":"assistant","content":"positive"},"finish_reason":"stop"}],"usage":{"prompt_tokens":61,"completion_tokens":1,"total_tokens":62}}""",
        FinishReason: "stop", ResponseModel: "deepseek-chat", StatusCode: 200, AttemptHistory: Attempts(),
        Lineage: new ItemLineageDto(JobId, Job().TemplateHash, Job().ParametersHash, RouteName: "reviews", RoutePosition: 0, ProviderName: "deepseek",
            RequestedModel: "reviews", ModelName: "deepseek-chat", ResponseModel: "deepseek-chat", ResponseId: "chatcmpl-8d1f3c2a", Attempt: 2,
            UsageSource: UsageSources.Reported));

    // Keys never leave the server: a provider shows only the last 4 characters of its key.
    private static ProviderDto DeepSeek() => new(
        DeepSeekId, "deepseek", "https://api.deepseek.com/v1", HasApiKey: true, ApiKeyLast4: "9f3c", TimeoutSeconds: 30, ConnectTimeoutSeconds: 10,
        RequestsPerMinute: 3000, TokensPerMinute: null, MaxConcurrency: null, Enabled: true,
        Models: [new ModelPriceDto("deepseek-chat", 0.42m, 0.42m)], CreatedAt: CreatedAt.AddDays(-30), UpdatedAt: CreatedAt.AddMinutes(-20));

    // A placeholder, not a key: whatever a reader copies from the document must not look like a real secret.
    private static ProviderRequest ProviderRequest() => new("deepseek", "https://api.deepseek.com/v1", ApiKey: "sk-...", RequestsPerMinute: 3000);

    private static CatalogDto Catalog() => new(
        [new CatalogModelDto("deepseek-chat", "deepseek", 0.42m, 0.42m), new CatalogModelDto("gpt-4.1", "openai", 8m, 8m)],
        [new ModelAliasDto("gpt-4", "gpt-4.1"), new ModelAliasDto("gpt-3.5-turbo", "deepseek-chat")],
        ["default", "reviews"]);

    // Route "reviews" as a job naming it would run now: on its first target, deepseek.
    private static ResolvedName Resolved() => new(
        "reviews", NameKinds.Route, "deepseek", "deepseek-chat", 0.42m, 0.42m,
        [new ResolvedRouteTarget(0, "deepseek", "deepseek-chat", Active: true, 0.42m, 0.42m), new ResolvedRouteTarget(1, "openai", "gpt-4.1", Active: false, 8m, 8m)]);

    private static ProviderHealthDto Health() => new(DeepSeekId, "deepseek", Circuit: "closed", ConsecutiveFailures: 0, OpenUntil: null,
        new ProviderHealthCheck(true, 200, 142, "ok", RolledBack.AddSeconds(-5)));

    private static RouteDto Route() => new(
        RouteId, "reviews", ActiveTargetPosition: 0,
        [new RouteTargetDto(0, DeepSeekId, "deepseek", "deepseek-chat"), new RouteTargetDto(1, OpenAiId, "openai", "gpt-4.1")],
        new RouteThresholds(), CreatedAt: CreatedAt.AddDays(-7), SwitchedAt: null);

    private static RouteRequest RouteRequest() =>
        new("reviews", [new RouteTargetRequest("deepseek", "deepseek-chat"), new RouteTargetRequest("openai", "gpt-4.1")], new RouteThresholds());

    // The window the monitor judged, and the rollback it caused (figures stored as the monitor writes them).
    private static RouteWindowDto Window() => new(
        RouteId, "deepseek/deepseek-chat", Calls: 48, Errors: 1, ErrorRate: 0.0208, SuccessRate: 0.9792, MeanLatencyMs: 612, P95LatencyMs: 1480,
        WindowSeconds: 300, new RouteThresholds(), Judged: true, Breach: "mean latency 612 ms > 500 ms");

    // The same route later with a 90/10 canary on openai, which has its own error threshold.
    private static RouteTargetsWindowDto TargetsWindow() => new(RouteId, ActiveTargetPosition: 0, Weighted: true, WindowSeconds: 300, TotalCalls: 1_000,
    [
        new RouteTargetWindowDto(0, "deepseek", "deepseek-chat", Weight: 90, RouteTargetRole.Active, Calls: 902, Errors: 9, ErrorRate: 0.00998, SuccessRate: 0.99002,
            MeanLatencyMs: 402, P95LatencyMs: 750, Share: 0.902, new RouteThresholds(), Since: null, Judged: true, Breach: null),
        new RouteTargetWindowDto(1, "openai", "gpt-4.1", Weight: 10, RouteTargetRole.Canary, Calls: 98, Errors: 1, ErrorRate: 0.0102, SuccessRate: 0.9898,
            MeanLatencyMs: 655, P95LatencyMs: 1000, Share: 0.098, new RouteThresholds(MaxErrorRate: 0.02, MaxMeanLatencyMs: 800), Since: RolledBack, Judged: true, Breach: null),
    ]);

    private static RollbackEventDto Rollback()
    {
        var w = Window();
        var figures = JsonSerializer.Serialize(new
        {
            calls = w.Calls, errors = w.Errors, errorRate = w.ErrorRate, successRate = w.SuccessRate, meanLatencyMs = w.MeanLatencyMs,
            p95LatencyMs = w.P95LatencyMs, windowSeconds = w.WindowSeconds, thresholds = w.Thresholds,
        });
        return new RollbackEventDto(17, RouteId, "reviews", FromPosition: 0, ToPosition: 1, "deepseek/deepseek-chat", "openai/gpt-4.1",
            $"automatic rollback: {w.Breach}", Automatic: true, figures, RolledBack, RouteEventKind.Switch);
    }

    private static UsageSummary LastHour() =>
        new(Calls: 96_500, Failures: 410, InputTokens: 5_597_000, OutputTokens: 289_500, CostUsd: 2.4723m, MeanLatencyMs: 421.7, P95LatencyMs: 980);

    private static UsageSummary LastDay() =>
        new(Calls: 1_284_300, Failures: 5_120, InputTokens: 74_489_400, OutputTokens: 3_852_900, CostUsd: 41.87m, MeanLatencyMs: 436.2, P95LatencyMs: 1040);

    // The playbook's switch measured: gpt-4.1 at $8 per million tokens against deepseek-chat at $0.42.
    private static ProviderComparison Comparison() => new(
        "openai/gpt-4.1", "deepseek/deepseek-chat",
        new UsageSummary(20_000, 12, 1_160_000, 60_000, 9.76m, 780, 1650),
        new UsageSummary(120_000, 340, 6_960_000, 360_000, 3.0744m, 412, 940),
        BeforeCostPerCall: 0.000488m, AfterCostPerCall: 0.00002562m, MonthlyBeforeUsd: 488m, MonthlyAfterUsd: 25.62m,
        CostChange: -0.9475, LatencyChange: -0.4718, MonthlyCalls: 1_000_000);

    // Support's finished jobs keep their records and answers for 90 days.
    private static RetentionPolicyDto RetentionPolicy() => new("support", 90, DateTimeOffset.Parse("2026-12-01T09:30:00Z"));

    private static OpenAiFile InputFile() =>
        // Uploaded with expires_after[seconds]=604800: gone a week later.
        new("file-6f1c2a9e4b7d0c35a8e2f914", 2_481_337, CreatedAt.AddMinutes(-1).ToUnixTimeSeconds(), "reviews-batch.jsonl", FileStore.BatchPurpose,
            CreatedAt.AddMinutes(-1).AddDays(7).ToUnixTimeSeconds());

    // A batch whose file has a bad line fails with the line's error, as at OpenAI.
    private static BatchError BadLine() => new("invalid_request", "missing \"custom_id\" (a non-empty string)", Param: null, Line: 17);

    // A finished batch: its output and error files exist once it is completed.
    private static OpenAiBatch Batch()
    {
        var completed = CreatedAt.AddMinutes(23);
        return new OpenAiBatch(
            Id: BatchService.ToBatchId(JobId), Endpoint: JobEndpoints.ChatCompletionsPath, Model: "deepseek-chat", Errors: null,
            InputFileId: InputFile().Id, CompletionWindow: BatchService.CompletionWindow, Status: "completed",
            OutputFileId: "file-0b94d7e1c2a85f3609e4b7a1", ErrorFileId: "file-5c2e8a0f71d94b36ae0c8d52",
            CreatedAt: CreatedAt.ToUnixTimeSeconds(), InProgressAt: Started.ToUnixTimeSeconds(), ExpiresAt: CreatedAt.AddHours(24).ToUnixTimeSeconds(),
            FinalizingAt: completed.ToUnixTimeSeconds(), CompletedAt: completed.ToUnixTimeSeconds(), FailedAt: null, ExpiredAt: null,
            CancellingAt: null, CancelledAt: null,
            RequestCounts: new BatchRequestCounts(120_000, 119_660, 340), Usage: new BatchUsage(6_958_900, 358_980),
            Metadata: JsonSerializer.SerializeToElement(new Dictionary<string, string> { ["team"] = "reviews" }));
    }
}
