using AspireBatch.Api.Services.Rehearsals;
using AspireBatch.Contracts;

namespace AspireBatch.UnitTests;

public sealed class AnswerJudgeTests
{
    private static AnswerJudge Judge(JudgeKind kind, string[]? fields = null, string? pattern = null)
    {
        var judge = AnswerJudge.Create(new JudgeRequest(kind, fields, pattern), out var error);
        Assert.Null(error);
        return judge;
    }

    [Theory]
    [InlineData("Positive.", "positive", true)]
    [InlineData("  The   answer\tis  yes ", "the answer is yes", true)]
    [InlineData("yes", "no", false)]
    [InlineData("ｐｏｓｉｔｉｖｅ", "positive", true)] // full-width letters fold to the same text
    public void Normalized_sets_aside_case_space_and_trailing_punctuation(string a, string b, bool agree) =>
        Assert.Equal(agree, Judge(JudgeKind.Normalized).Agrees(a, b));

    [Fact]
    public void Exact_is_exact() => Assert.False(Judge(JudgeKind.Exact).Agrees("Yes", "yes"));

    [Fact]
    public void Json_fields_compare_only_the_chosen_fields_whatever_the_spacing_order_or_fence()
    {
        var judge = Judge(JudgeKind.JsonFields, ["sentiment", "order.id"]);
        Assert.True(judge.Agrees("""{"sentiment":"pos","order":{"id":7,"note":"a"}}""", "```json\n{ \"order\": {\"note\":\"b\", \"id\": 7.0}, \"sentiment\": \"pos\" }\n```"));
        Assert.False(judge.Agrees("""{"sentiment":"pos","order":{"id":7}}""", """{"sentiment":"neg","order":{"id":7}}"""));
        Assert.False(judge.Agrees("""{"sentiment":"pos"}""", "not json"));
        Assert.True(judge.Agrees("""{"sentiment":"pos"}""", """{"sentiment":"pos","order":null}"""));
    }

    [Fact]
    public void Labels_come_from_the_first_line_or_the_pattern_group()
    {
        Assert.Equal("positive", Judge(JudgeKind.Label).Key("Positive\nbecause the customer is happy"));
        var pattern = Judge(JudgeKind.Label, pattern: "label: (\\w+)");
        Assert.Equal("neutral", pattern.Key("I think... label: Neutral."));
        Assert.Null(pattern.Key("no label here"));
        Assert.False(pattern.Agrees("no label here", "no label here"));
    }

    [Fact]
    public void None_compares_nothing_and_a_missing_answer_is_not_a_disagreement()
    {
        Assert.Null(Judge(JudgeKind.None).Agrees("a", "b"));
        Assert.Null(Judge(JudgeKind.Exact).Agrees(null, "b"));
    }

    [Theory]
    [InlineData(JudgeKind.JsonFields, null, null)]
    [InlineData(JudgeKind.Label, null, "([a-z")]
    public void A_judge_that_cannot_work_says_why(JudgeKind kind, string[]? fields, string? pattern)
    {
        AnswerJudge.Create(new JudgeRequest(kind, fields, pattern), out var error);
        Assert.NotNull(error);
    }
}
