using System.Security.Cryptography;
using System.Text;
using AspireBatch.Data.Domain;

namespace AspireBatch.UnitTests;

public sealed class LineageHashTests
{
    [Fact]
    public void The_template_hash_is_the_first_16_hex_characters_of_sha256_over_system_nul_user()
    {
        var expected = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("You are terse.\0Classify: {{text}}")))[..16];
        Assert.Equal(expected, LineageHash.Templates("You are terse.", "Classify: {{text}}"));
        Assert.Matches("^[0-9a-f]{16}$", LineageHash.Templates(null, "x"));
    }

    [Fact]
    public void Templates_hash_apart_when_they_differ_or_the_split_moves()
    {
        Assert.Equal(LineageHash.Templates("s", "u"), LineageHash.Templates("s", "u"));
        Assert.NotEqual(LineageHash.Templates("s", "u"), LineageHash.Templates("s", "u!"));
        Assert.NotEqual(LineageHash.Templates("ab", "c"), LineageHash.Templates("a", "bc"));
        // No system template and an empty one send the same messages.
        Assert.Equal(LineageHash.Templates(null, "u"), LineageHash.Templates("", "u"));
    }

    [Fact]
    public void The_parameters_are_hashed_as_canonical_json()
    {
        Assert.Equal("""{"max_tokens":50,"response_format":{"type":"json_object"},"temperature":0.2}""",
            Encoding.UTF8.GetString(LineageHash.CanonicalParameters(0.2, 50, """{ "type" : "json_object" }""")));
        Assert.Equal("""{"max_tokens":null,"response_format":null,"temperature":null}""",
            Encoding.UTF8.GetString(LineageHash.CanonicalParameters(null, null, null)));
    }

    [Fact]
    public void Key_order_and_whitespace_of_the_response_format_do_not_change_the_hash()
    {
        const string compact = """{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","required":["a","b"]}}}""";
        const string reordered = """
            {
              "json_schema": { "schema": { "required": ["a", "b"], "type": "object" }, "name": "s" },
              "type": "json_schema"
            }
            """;
        Assert.Equal(LineageHash.Parameters(0.7, 100, compact), LineageHash.Parameters(0.7, 100, reordered));
        // Array order is meaning, not layout.
        Assert.NotEqual(LineageHash.Parameters(0.7, 100, compact), LineageHash.Parameters(0.7, 100, compact.Replace("[\"a\",\"b\"]", "[\"b\",\"a\"]")));
    }

    [Fact]
    public void Each_parameter_changes_the_hash()
    {
        var baseline = LineageHash.Parameters(0.7, 100, """{"type":"json_object"}""");
        Assert.NotEqual(baseline, LineageHash.Parameters(0.8, 100, """{"type":"json_object"}"""));
        Assert.NotEqual(baseline, LineageHash.Parameters(0.7, 101, """{"type":"json_object"}"""));
        Assert.NotEqual(baseline, LineageHash.Parameters(0.7, 100, """{"type":"text"}"""));
        Assert.NotEqual(baseline, LineageHash.Parameters(null, 100, """{"type":"json_object"}"""));
        Assert.NotEqual(LineageHash.Parameters(null, null, null), LineageHash.Parameters(0, null, null));
    }
}
