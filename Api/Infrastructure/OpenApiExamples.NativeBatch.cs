using AspireBatch.Contracts;

namespace AspireBatch.Api.Infrastructure;

// The story's job in provider-batch mode: 120,000 reviews in three batches at OpenAI's discount; the third was cut at
// the deadline and its unanswered lines ran in real time.
internal sealed partial class OpenApiExamples
{
    private static JobProviderBatches ProviderBatches() => new(JobId, JobMode.Auto, CreatedAt.AddHours(20),
        [
            new ProviderBatchDto(Guid.Parse("019a4c02-1b00-7e10-8c11-2a3b4c5d6e7f"), ProviderBatchState.Done, "openai", "gpt-4.1", "batch_6721a4c0e5f08190",
                "completed", 50_000, 41_250_000, 50_000, 0, 0, 50_000, 12_100_000, 800_000, 54.4m, 108.8m, 4m, 4m, null, null,
                CreatedAt, CreatedAt.AddSeconds(40), CreatedAt.AddHours(3), CreatedAt.AddHours(3).AddMinutes(2)),
        ], 54.4m, 108.8m, 0.92m);
}
