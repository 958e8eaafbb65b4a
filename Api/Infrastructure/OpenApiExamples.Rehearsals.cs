using System.Text.Json;
using AspireBatch.Api.Apis;
using AspireBatch.Contracts;

namespace AspireBatch.Api.Infrastructure;

// The rehearsal of the story's job: 500 of its reviews, stratified by product, on route "reviews" (the baseline) and on
// deepseek-chat alone, judged by label; the candidate agrees on 92 % at a fifth of the cost, and is adopted.
internal sealed partial class OpenApiExamples
{
    private static readonly Guid RehearsalId = Guid.Parse("019a4c01-2e9d-7f30-8b6a-3d5c7e1f9a42");
    private static readonly Guid BaselineJobId = Guid.Parse("019a4c01-2ea0-7c11-9d42-1b7e5f3a8c60");
    private static readonly Guid CandidateJobId = Guid.Parse("019a4c01-2ea1-7a95-a3c8-6e2d9b4f1c73");
    private static readonly DateTimeOffset Rehearsed = new(2026, 11, 1, 16, 5, 0, TimeSpan.Zero);

    private static RehearsalRequest RehearsalRequest() => new(JobId, new SampleRequest(500, SampleStrategy.Stratified, 1, "product"),
        [new RehearsalTargetRequest(Route: "reviews", Baseline: true), new RehearsalTargetRequest(Provider: "deepseek", Model: "deepseek-chat")],
        new JudgeRequest(JudgeKind.Label), BudgetUsd: 2m, MonthlyRecords: 3_000_000, Name: "reviews to deepseek");

    private static CreateRehearsalForm RehearsalForm() => new()
    {
        Format = "jsonl", UserTemplate = Job().UserTemplate, Temperature = 0, MaxTokens = 16,
        Rehearsal = JsonSerializer.Serialize(RehearsalRequest() with { SourceJobId = null }, JsonSerializerOptions.Web),
    };

    private static RehearsalDto Rehearsal() => new(RehearsalId, "reviews to deepseek", RehearsalState.Completed, JobId, 120_000,
        RehearsalRequest().Sample, 500, new JudgeRequest(JudgeKind.Label), 2m, 3_000_000,
        [
            new RehearsalTargetReport(0, "route reviews", true, BaselineJobId, JobState.Completed, null, 500, 500, 0, 0, 1.0, 412, 780,
                29_000, 1_000, 0.0624m, 0.1248m, 14.976m, 374.4m, null, 0, [new(50, 0), new(500, 301), new(1000, 199)]),
            new RehearsalTargetReport(1, "deepseek/deepseek-chat", false, CandidateJobId, JobState.Completed, null, 500, 497, 3, 0, 0.994, 236, 430,
                29_210, 1_004, 0.0127m, 0.0254m, 3.048m, 76.2m, 0.92, 497, [new(50, 0), new(500, 455), new(1000, 42)]),
        ],
        [[1.0, 0.92], [0.92, 1.0]],
        [new ConfusionMatrix(1, ["negative", "positive"], [[181, 22], [18, 276]])],
        40, [Adoption()], Rehearsed, null);

    private static RehearsalSummaryDto RehearsalSummary() =>
        new(RehearsalId, "reviews to deepseek", RehearsalState.Completed, JobId, 500, 2, "route reviews", 0.0751m, Rehearsed);

    private static RehearsalRecordDto RehearsalRecord() => new("r-10482", 10_483,
    [
        new RehearsalAnswer(0, ItemState.Succeeded, "negative", "negative", null, 402, 0.000124m, null),
        new RehearsalAnswer(1, ItemState.Succeeded, "positive", "positive", null, 221, 0.000025m, false),
    ]);

    private static AdoptionProposal Proposal() => new(1, "deepseek/deepseek-chat", "reviews", "route reviews",
        new RouteThresholds(MaxErrorRate: 0.05, MaxMeanLatencyMs: 860, MinSuccessRate: 0.95),
        ["mean latency above 860 ms: twice the candidate's measured p95 (430 ms)",
         "error rate above 5.0 %: the playbook's, the candidate measured 0.6 %",
         "success rate below 95.0 %, judged over 300 s windows of at least 20 calls"]);

    private static RouteAdoptionDto Adoption() => new(9_412, RouteId, "reviews", "openai/gpt-4.1", "deepseek/deepseek-chat",
        "adopted from rehearsal reviews to deepseek: $0.0254 per 1k records against $0.1248, 92.0 % agreement, p95 430 ms", Rehearsed.AddMinutes(20));
}
