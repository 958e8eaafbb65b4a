using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AspireBatch.Data.Domain;

namespace AspireBatch.UnitTests;

public sealed class RequestHashTests
{
    private static byte[] Batch(string json)
    {
        using var document = JsonDocument.Parse(json);
        return RequestHash.BatchBody(document.RootElement);
    }

    private static string Canonical(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Encoding.UTF8.GetString(RequestHash.CanonicalBatchBody(document.RootElement));
    }

    [Fact]
    public void A_template_record_is_keyed_by_the_first_16_bytes_of_sha256_over_its_messages_as_a_json_array()
    {
        Assert.Equal("""["You are terse.","Classify: good"]""", Encoding.UTF8.GetString(RequestHash.CanonicalMessages("You are terse.", "Classify: good")));
        Assert.Equal("""[null,"Classify: good"]""", Encoding.UTF8.GetString(RequestHash.CanonicalMessages(null, "Classify: good")));
        var expected = SHA256.HashData(Encoding.UTF8.GetBytes("""[null,"u"]"""))[..16];
        Assert.Equal(expected, RequestHash.Messages(null, "u"));
        Assert.Equal(16, RequestHash.Messages("s", "u").Length);
    }

    [Fact]
    public void Template_records_key_apart_when_a_message_differs_or_the_split_moves()
    {
        Assert.Equal(RequestHash.Messages("s", "u"), RequestHash.Messages("s", "u"));
        Assert.NotEqual(RequestHash.Messages("s", "u"), RequestHash.Messages("s", "u "));
        Assert.NotEqual(RequestHash.Messages("ab", "c"), RequestHash.Messages("a", "bc"));
        // A separator inside a message cannot make two requests look alike.
        Assert.NotEqual(RequestHash.Messages("a\",\"b", "c"), RequestHash.Messages("a", "b\",\"c"));
        // No system message and an empty one are different requests (the second sends a system message).
        Assert.NotEqual(RequestHash.Messages(null, "u"), RequestHash.Messages("", "u"));
    }

    [Fact]
    public void A_batch_body_is_canonical_without_its_model_keys_sorted_and_numbers_in_one_form()
    {
        Assert.Equal("""{"max_tokens":10,"messages":[{"content":"hi","role":"user"}],"temperature":0}""",
            Canonical("""{ "model": "gpt-4", "temperature": 0.0, "messages": [ { "role": "user", "content": "hi" } ], "max_tokens": 10 }"""));
        Assert.Equal(Batch("""{"model":"a","temperature":0,"messages":[{"role":"user","content":"hi"}]}"""),
            Batch("""{"messages":[{"content":"hi","role":"user"}],"temperature":0.00,"model":"b"}"""));
        Assert.Equal(Batch("""{"top_p":0.5}"""), Batch("""{"top_p":0.50}"""));
        Assert.Equal(Batch("""{"top_p":0.5}"""), Batch("""{"top_p":5e-1}"""));
    }

    [Fact]
    public void Batch_bodies_key_apart_on_anything_but_the_model()
    {
        var basic = Batch("""{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.NotEqual(basic, Batch("""{"model":"m","temperature":0,"messages":[{"role":"user","content":"hi!"}]}"""));
        Assert.NotEqual(basic, Batch("""{"model":"m","temperature":0.1,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.NotEqual(basic, Batch("""{"model":"m","temperature":0,"max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.NotEqual(basic, Batch("""{"model":"m","temperature":0,"messages":[{"role":"system","content":"hi"}]}"""));
        // Array order is meaning: the same messages in another order are another conversation.
        Assert.NotEqual(Batch("""{"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}"""),
            Batch("""{"messages":[{"role":"user","content":"b"},{"role":"user","content":"a"}]}"""));
        // A string "0" is not the number 0.
        Assert.NotEqual(Batch("""{"temperature":0}"""), Batch("""{"temperature":"0"}"""));
    }

    [Theory]
    [InlineData(null, 0.0, true)]
    [InlineData(null, 0.7, false)]
    [InlineData(null, null, false)]
    [InlineData(true, 0.7, true)]
    [InlineData(true, null, true)]
    [InlineData(false, 0.0, false)]
    public void A_template_job_deduplicates_at_temperature_0_unless_told(bool? option, double? temperature, bool expected) =>
        Assert.Equal(expected, RequestHash.TemplateJobDeduplicates(option, temperature));

    [Theory]
    [InlineData(null, """{"temperature":0}""", true)]
    [InlineData(null, """{"temperature":0.0}""", true)]
    [InlineData(null, """{"temperature":0.3}""", false)]
    [InlineData(null, """{}""", false)]
    [InlineData(null, """{"temperature":"0"}""", false)]
    [InlineData(true, """{}""", true)]
    [InlineData(false, """{"temperature":0}""", false)]
    public void A_batch_line_deduplicates_when_its_own_temperature_is_0_unless_the_job_says(bool? option, string body, bool expected)
    {
        using var document = JsonDocument.Parse(body);
        Assert.Equal(expected, RequestHash.BatchLineDeduplicates(option, document.RootElement));
    }
}
