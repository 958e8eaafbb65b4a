using System.Diagnostics;
using System.Net.Http.Json;
using AspireBatch.Data.Lifecycle;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using AspireBatch.Data.Live;
using AspireBatch.Worker;
using AspireBatch.Worker.Execution;
using AspireBatch.Worker.Limits;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Trace;
using StackExchange.Redis;

namespace AspireBatch.Tests;

/// <summary>The Worker's model caller, run here against the stack's simulators and Redis, exports the spans operators read.</summary>
public sealed class TelemetryTests(StackFixture stack) : IAsyncLifetime
{
    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync() => await stack.ResetSimulatorsAsync();

    [Fact]
    public async Task A_call_a_retry_and_a_fallback_produce_genai_spans_and_events()
    {
        var exported = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource("AspireBatch").AddInMemoryExporter(exported).Build();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(stack.RedisConnectionString);
        var caller = CallerWith(redis, new WorkerOptions { MaxAttempts = 2, BaseRetryDelayMilliseconds = 50 });

        var providers = await stack.Api.GetFromJsonAsync<List<ProviderDto>>("/api/providers", StackFixture.Json);
        CallTarget Target(string name) => providers!.Single(p => p.Name == name) is var p
            ? new CallTarget(p.Id, p.Name, new Uri(p.BaseUrl.TrimEnd('/') + "/"), StackFixture.SimulatorKey, "deepseek-chat", 0.42m, 0.42m, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5))
            : throw new InvalidOperationException();
        var job = new RunningJob(Guid.NewGuid(), null, null, "deepseek-chat",
            new ProviderRequestBuilder(new JobRequestSettings(JobInputFormat.Jsonl, null, "Say {{text}}", null, 20, null)), null);
        var item = new ClaimedItem(1, job.Id, "telemetry-1", """{"id":"telemetry-1","text":"hello"}""", Guid.NewGuid(), 10);

        // The primary answers 503 (retried once), then the item falls back to the second target.
        (await stack.SimPrimary.PutAsJsonAsync("/admin/config", new { error503Rate = 1.0 })).EnsureSuccessStatusCode();
        ItemOutcome outcome;
        using (var parent = WorkerTelemetry.Source.StartActivity("process item"))
        {
            outcome = await caller.ProcessAsync(item, job, [Target("sim-primary"), Target("sim-fallback")], () => true, CancellationToken.None);
        }
        tracing.ForceFlush();

        Assert.Equal(ItemState.Succeeded, outcome.State);
        Assert.Equal(3, outcome.Attempts!.Count);
        var calls = exported.Where(a => a.DisplayName == "chat deepseek-chat").ToList();
        Assert.Equal(3, calls.Count);
        Assert.All(calls, c =>
        {
            Assert.Equal(ActivityKind.Client, c.Kind);
            Assert.Equal("chat", c.GetTagItem("gen_ai.operation.name"));
            Assert.Equal("deepseek-chat", c.GetTagItem("gen_ai.request.model"));
            Assert.Equal("localhost", c.GetTagItem("server.address"));
        });
        var failed = calls.Where(c => (string?)c.GetTagItem("gen_ai.provider.name") == "sim-primary").ToList();
        Assert.Equal(2, failed.Count);
        Assert.All(failed, c => Assert.Equal("http_503", c.GetTagItem("error.type")));
        var answered = calls.Single(c => (string?)c.GetTagItem("gen_ai.provider.name") == "sim-fallback");
        Assert.Equal("deepseek-chat", answered.GetTagItem("gen_ai.response.model"));
        Assert.StartsWith("chatcmpl-", (string?)answered.GetTagItem("gen_ai.response.id"));
        Assert.Equal(outcome.InputTokens, answered.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(outcome.OutputTokens, answered.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.NotNull(answered.GetTagItem("gen_ai.response.finish_reasons"));

        var processing = exported.Single(a => a.DisplayName == "process item");
        Assert.All(calls, c => Assert.Equal(processing.SpanId, c.ParentSpanId));
        var retry = Assert.Single(processing.Events, e => e.Name == "retry");
        Assert.Equal("http_503", retry.Tags.Single(t => t.Key == "retry.cause").Value);
        Assert.True((long)retry.Tags.Single(t => t.Key == "retry.wait_ms").Value! >= 1000, "the 503 asked for Retry-After: 1");
        var fallback = Assert.Single(processing.Events, e => e.Name == "fallback");
        Assert.Equal("sim-primary/deepseek-chat", fallback.Tags.Single(t => t.Key == "fallback.from").Value);
        Assert.Equal("sim-fallback/deepseek-chat", fallback.Tags.Single(t => t.Key == "fallback.to").Value);

        // Prompt and response text stay out of telemetry.
        Assert.All(exported.SelectMany(a => a.TagObjects), t => Assert.DoesNotContain("hello", t.Value?.ToString() ?? ""));
    }

    [Fact]
    public async Task Message_content_is_on_the_span_only_when_the_option_turns_it_on()
    {
        var exported = new List<Activity>();
        using var tracing = Sdk.CreateTracerProviderBuilder().AddSource("AspireBatch").AddInMemoryExporter(exported).Build();
        await using var redis = await ConnectionMultiplexer.ConnectAsync(stack.RedisConnectionString);
        var providers = await stack.Api.GetFromJsonAsync<List<ProviderDto>>("/api/providers", StackFixture.Json);
        var provider = providers!.Single(p => p.Name == "sim-primary");
        var target = new CallTarget(provider.Id, provider.Name, new Uri(provider.BaseUrl.TrimEnd('/') + "/"), StackFixture.SimulatorKey,
            "deepseek-chat", 0.42m, 0.42m, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(5));
        var job = new RunningJob(Guid.NewGuid(), null, null, "deepseek-chat",
            new ProviderRequestBuilder(new JobRequestSettings(JobInputFormat.Jsonl, "Be brief.", "Say {{text}}", null, 20, null)), null);
        var item = new ClaimedItem(1, job.Id, "content-1", """{"id":"content-1","text":"marmalade"}""", Guid.NewGuid(), 10);

        var outcome = await CallerWith(redis, new WorkerOptions { CaptureMessageContent = true }).ProcessAsync(item, job, [target], () => true, CancellationToken.None);
        tracing.ForceFlush();

        Assert.Equal(ItemState.Succeeded, outcome.State);
        var call = exported.Single(a => a.DisplayName == "chat deepseek-chat");
        using var input = System.Text.Json.JsonDocument.Parse((string)call.GetTagItem("gen_ai.input.messages")!);
        Assert.Equal(["system", "user"], input.RootElement.EnumerateArray().Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("Say marmalade", input.RootElement[1].GetProperty("parts")[0].GetProperty("content").GetString());
        using var output = System.Text.Json.JsonDocument.Parse((string)call.GetTagItem("gen_ai.output.messages")!);
        using var answer = System.Text.Json.JsonDocument.Parse(outcome.ResponseBody!);
        Assert.Equal(answer.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(),
            output.RootElement[0].GetProperty("parts")[0].GetProperty("content").GetString());

        exported.Clear();
        await CallerWith(redis, new WorkerOptions()).ProcessAsync(item, job, [target], () => true, CancellationToken.None);
        tracing.ForceFlush();
        var quiet = exported.Single(a => a.DisplayName == "chat deepseek-chat");
        Assert.Null(quiet.GetTagItem("gen_ai.input.messages"));
        Assert.Null(quiet.GetTagItem("gen_ai.output.messages"));
    }

    private ModelCaller CallerWith(ConnectionMultiplexer redis, WorkerOptions workerOptions)
    {
        var options = Options.Create(workerOptions);
        var configuration = new ConfigurationBuilder().Build();
        var breaker = new RedisBreaker(redis, NullLogger<RedisBreaker>.Instance);
        var guard = new ProviderGuard(new SharedRateLimiter(redis, breaker, configuration, NullLogger<SharedRateLimiter>.Instance), new ConcurrencyGate(redis, breaker, configuration),
            new ProviderState(redis, TimeProvider.System), new TargetWindow(redis, TimeProvider.System), new LiveLimits(), options, NullLogger<ProviderGuard>.Instance);
        var telemetry = new WorkerTelemetry(new ServiceCollection().AddMetrics().BuildServiceProvider().GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        // The journal writes to the stack's database; these items are not in it, so its marks change nothing.
        var journal = new CallJournal(new ItemStore(Npgsql.NpgsqlDataSource.Create(stack.DatabaseConnectionString)), NullLogger<CallJournal>.Instance);
        journal.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return new ModelCaller(options, telemetry, guard, new ProviderClient(options, telemetry), journal, TimeProvider.System, NullLogger<ModelCaller>.Instance);
    }
}
