namespace AspireBatch.Simulator.Tests;

public sealed class SimulatorAnswersTests
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("   ", 0)]
    [InlineData("hello", 1)]
    [InlineData("  hello \n world\t", 2)]
    [InlineData("Hello, world!", 4)]
    [InlineData("sim:d0425451 hi", 3)]
    [InlineData("{\"answer\":\"x\"}", 8)] // one word plus the seven punctuation characters { " " : " " }
    public void CountTokens_counts_words_plus_punctuation(string text, int expected) =>
        Assert.Equal(expected, SimulatorAnswers.CountTokens(text));

    [Fact]
    public void Answer_is_pinned_to_the_documented_rule()
    {
        // SHA-256("user:hi\n") starts with d0425451; SHA-256("system:be brief\nuser:Hello, world!\n") with b845dace.
        Assert.Equal("sim:d0425451 hi", SimulatorAnswers.Answer("gpt-4.1", [("user", "hi")]));
        Assert.Equal("sim:b845dace Hello, world!", SimulatorAnswers.Answer("deepseek-chat", [("system", "be brief"), ("user", "Hello, world!")]));
    }

    [Fact]
    public void Answer_ignores_the_model_and_summarises_the_last_user_message_in_48_characters()
    {
        var long1 = new string('a', 60);
        (string, string)[] messages = [("user", "first"), ("assistant", "reply"), ("user", long1)];

        var answer = SimulatorAnswers.Answer("gpt-4.1", messages);

        Assert.Equal(answer, SimulatorAnswers.Answer("claude-sonnet-4-5", messages));
        Assert.Matches("^sim:[0-9a-f]{8} a{48}$", answer);
    }

    [Fact]
    public void Complete_cuts_to_the_token_budget_and_reports_length()
    {
        (string, string)[] messages = [("user", "one two three four five six seven")];
        var full = SimulatorAnswers.Complete("gpt-4.1", messages);
        Assert.Equal("stop", full.FinishReason);
        Assert.Equal(SimulatorAnswers.CountTokens(full.Content), full.CompletionTokens);

        var cut = SimulatorAnswers.Complete("gpt-4.1", messages, maxTokens: 4);

        Assert.Equal("length", cut.FinishReason);
        Assert.Equal(SimulatorAnswers.Answer("gpt-4.1", messages).Split(' ')[..3], cut.Content.Split(' '));
        Assert.Equal(4, cut.CompletionTokens); // "sim:hex8" is 2 tokens, "one" and "two" 1 each.
        Assert.Equal(SimulatorAnswers.CountPromptTokens(messages) + 4, cut.TotalTokens);
    }

    [Fact]
    public void Complete_with_a_budget_at_least_the_answer_keeps_it_whole()
    {
        (string, string)[] messages = [("user", "hi")];
        var answer = SimulatorAnswers.Answer("gpt-4.1", messages);

        var completion = SimulatorAnswers.Complete("gpt-4.1", messages, maxTokens: SimulatorAnswers.CountTokens(answer));

        Assert.Equal(answer, completion.Content);
        Assert.Equal("stop", completion.FinishReason);
    }

    [Fact]
    public void Prompt_tokens_are_content_tokens_plus_four_per_message() =>
        Assert.Equal((1 + 4) + (4 + 4), SimulatorAnswers.CountPromptTokens([("system", "brief"), ("user", "Hello, world!")]));
}
