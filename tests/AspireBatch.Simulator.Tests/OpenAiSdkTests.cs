using System.ClientModel;
using OpenAI;
using OpenAI.Chat;
using OpenAI.Models;

namespace AspireBatch.Simulator.Tests;

/// <summary>The official OpenAI .NET client talks to the simulator unchanged.</summary>
public sealed class OpenAiSdkTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task The_OpenAI_client_gets_the_deterministic_answer_and_usage()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var options = new OpenAIClientOptions { Endpoint = new Uri(sim.BaseAddress, "/v1") };
        var client = new ChatClient("gemini-2.5-flash", new ApiKeyCredential(SimulatorHost.ApiKey), options);

        ChatCompletion completion = await client.CompleteChatAsync(
            [new SystemChatMessage("You are a classifier."), new UserChatMessage("Is this spam? Buy now!!!")],
            new ChatCompletionOptions { MaxOutputTokenCount = 100 },
            Ct);

        var expected = SimulatorAnswers.Complete(
            "gemini-2.5-flash", [("system", "You are a classifier."), ("user", "Is this spam? Buy now!!!")], maxTokens: 100);
        Assert.Equal(expected.Content, completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(expected.PromptTokens, completion.Usage.InputTokenCount);
        Assert.Equal(expected.CompletionTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(expected.TotalTokens, completion.Usage.TotalTokenCount);
        Assert.Equal("gemini-2.5-flash", completion.Model);
    }

    [Fact]
    public async Task The_OpenAI_client_lists_models_and_sees_401_for_a_wrong_key()
    {
        await using var sim = await SimulatorHost.StartAsync();
        var options = new OpenAIClientOptions { Endpoint = new Uri(sim.BaseAddress, "/v1") };

        OpenAIModelCollection models = await new OpenAIModelClient(new ApiKeyCredential(SimulatorHost.ApiKey), options).GetModelsAsync(Ct);
        Assert.Contains(models, m => m.Id == "deepseek-chat" && m.OwnedBy == "simulator");

        var wrong = new ChatClient("gpt-4.1", new ApiKeyCredential("nope"), options);
        var error = await Assert.ThrowsAsync<ClientResultException>(() => wrong.CompleteChatAsync([new UserChatMessage("hi")], cancellationToken: Ct));
        Assert.Equal(401, error.Status);
    }
}
