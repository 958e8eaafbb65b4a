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

public sealed class AnswerStyleTests
{
    private static readonly string[] Labels = ["positive", "negative", "neutral"];

    private static (string, string)[] Prompt(int i) => [("user", $"Classify: record {i}")];

    [Fact]
    public void With_labels_every_instance_gives_a_prompt_the_same_label()
    {
        var a = new AnswerStyle(Labels, 0, "a");
        var b = new AnswerStyle(Labels, 0, "b");
        var answers = Enumerable.Range(0, 300).Select(i => SimulatorAnswers.Answer("gpt-4.1", Prompt(i), a)).ToList();
        Assert.Equal(answers, Enumerable.Range(0, 300).Select(i => SimulatorAnswers.Answer("deepseek-chat", Prompt(i), b)));
        Assert.All(Labels, label => Assert.InRange(answers.Count(x => x == label), 70, 130));
    }

    [Fact]
    public void A_disagree_rate_changes_about_that_share_of_prompts_and_always_the_same_ones()
    {
        var baseline = new AnswerStyle(Labels, 0, "");
        var candidate = new AnswerStyle(Labels, 0.2, "candidate");
        var differ = Enumerable.Range(0, 2000).Where(i => SimulatorAnswers.Answer("m", Prompt(i), baseline) != SimulatorAnswers.Answer("m", Prompt(i), candidate)).ToList();
        Assert.InRange(differ.Count, 330, 470);
        Assert.Equal(differ, Enumerable.Range(0, 2000).Where(i => SimulatorAnswers.Answer("m", Prompt(i), baseline) != SimulatorAnswers.Answer("m", Prompt(i), candidate)));
        var otherSalt = Enumerable.Range(0, 2000).Where(i => SimulatorAnswers.Answer("m", Prompt(i), baseline) != SimulatorAnswers.Answer("m", Prompt(i), candidate with { Salt = "other" })).ToList();
        Assert.NotEqual(differ, otherSalt);
    }

    [Fact]
    public void Without_labels_a_disagreeing_prompt_gets_the_usual_answer_marked_alt()
    {
        var always = new AnswerStyle([], 1.0, "x");
        Assert.Equal(SimulatorAnswers.Answer("m", Prompt(1)) + " (alt)", SimulatorAnswers.Answer("m", Prompt(1), always));
        Assert.Equal(SimulatorAnswers.Answer("m", Prompt(1)), SimulatorAnswers.Answer("m", Prompt(1), AnswerStyle.Default));
    }
}
