using System.Text;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Dashboard.Api;
using Microsoft.Extensions.DependencyInjection;

namespace AspireBatch.Dashboard.Tests;

public sealed class RehearsalClientTests
{
    [Fact]
    public async Task An_upload_rehearsal_sends_the_job_form_the_file_and_the_rehearsal_as_json_without_a_source()
    {
        var stub = new StubApi();
        string? rehearsal = null;
        string? template = null;
        var sentFile = false;
        stub.Answer("/api/rehearsals/upload", request =>
        {
            var form = (MultipartFormDataContent)request.Content!;
            foreach (var part in form)
            {
                switch (part.Headers.ContentDisposition?.Name?.Trim('"'))
                {
                    case "rehearsal":
                        rehearsal = part.ReadAsStringAsync().Result;
                        break;
                    case "userTemplate":
                        template = part.ReadAsStringAsync().Result;
                        break;
                    case "file":
                        sentFile = true;
                        break;
                }
            }
            return Report();
        });
        var services = new ServiceCollection();
        stub.Use(services);
        var api = services.BuildServiceProvider().GetRequiredService<BatchApiClient>();
        var request = new RehearsalRequest(Guid.NewGuid(), new SampleRequest(30, SampleStrategy.Stratified, 7, "topic"),
            [new RehearsalTargetRequest(Route: "default", Baseline: true), new RehearsalTargetRequest(Provider: "sim-fallback", Model: "deepseek-chat")],
            new JudgeRequest(JudgeKind.Label, Pattern: "^(\\w+)"), 2m, 1_000_000, "from a file");

        await api.CreateRehearsalFromUploadAsync(new JobForm { UserTemplate = "Classify: {{text}}" }, request,
            new MemoryStream(Encoding.UTF8.GetBytes("{\"id\":\"a\",\"text\":\"x\"}\n")), "records.jsonl", CancellationToken.None);

        Assert.True(sentFile);
        Assert.Equal("Classify: {{text}}", template);
        var sent = JsonSerializer.Deserialize<RehearsalRequest>(rehearsal!, JsonSerializerOptions.Web)!;
        // The file becomes the source: a source job id would contradict it.
        Assert.Null(sent.SourceJobId);
        Assert.Equal(request.Sample, sent.Sample);
        Assert.Equal(request.Targets, sent.Targets);
        Assert.Equal(JudgeKind.Label, sent.Judge!.Kind);
        Assert.Contains("\"strategy\":\"Stratified\"", rehearsal);
    }

    private static RehearsalDto Report() => new(Guid.NewGuid(), null, RehearsalState.Running, Guid.NewGuid(), 1, new SampleRequest(1), 1,
        new JudgeRequest(), null, null, [], [], [], 0, [], DateTimeOffset.UtcNow, null);
}
