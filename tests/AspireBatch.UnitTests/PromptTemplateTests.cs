using System.Text.Json;
using AspireBatch.Data.Domain;

namespace AspireBatch.UnitTests;

/// <summary>What a template promises: `{{field}}` and dotted paths are replaced by the record's text, and nothing else happens.</summary>
public sealed class PromptTemplateTests
{
    [Fact]
    public void A_placeholder_is_replaced_by_the_string_value_without_quotes()
    {
        Assert.Equal("Classify: Great product, fast delivery.", Render("Classify: {{text}}.", """{"id":"r1","text":"Great product, fast delivery"}"""));
    }

    [Fact]
    public void Every_occurrence_is_replaced_and_the_text_around_is_kept()
    {
        Assert.Equal("[a] and [a] then b!", Render("[{{x}}] and [{{x}}] then {{y}}!", """{"x":"a","y":"b"}"""));
    }

    [Theory]
    [InlineData("{{ text }}")]
    [InlineData("{{text }}")]
    [InlineData("{{\ttext\t}}")]
    public void Spaces_inside_the_braces_are_allowed(string template)
    {
        Assert.Equal("hello", Render(template, """{"text":"hello"}"""));
    }

    [Fact]
    public void A_dotted_path_reaches_into_nested_objects()
    {
        Assert.Equal("Ada / London", Render("{{user.name}} / {{user.address.city}}", """{"user":{"name":"Ada","address":{"city":"London"}}}"""));
    }

    [Theory]
    [InlineData("""{"n":42}""", "42")]
    [InlineData("""{"n":1.50}""", "1.50")]
    [InlineData("""{"n":-1e3}""", "-1e3")]
    [InlineData("""{"n":true}""", "true")]
    [InlineData("""{"n":false}""", "false")]
    [InlineData("""{"n":null}""", "")]
    [InlineData("""{"n":[1, "a"]}""", """[1, "a"]""")]
    [InlineData("""{"n":{"a" : 1}}""", """{"a" : 1}""")]
    public void Other_values_are_written_as_their_json_text_and_null_as_nothing(string record, string expected)
    {
        Assert.Equal($"<{expected}>", Render("<{{n}}>", record));
    }

    [Fact]
    public void String_values_are_unescaped_and_inserted_verbatim()
    {
        // JSON escapes are undone; nothing is HTML- or JSON-escaped on the way into the prompt.
        Assert.Equal("say \"hi\"\n\t<b>&amp;</b> é 😀 \\", Render("{{t}}", """{"t":"say \"hi\"\n\t<b>&amp;</b> \u00e9 \ud83d\ude00 \\"}"""));
    }

    [Fact]
    public void Placeholders_inside_a_value_are_not_expanded_again()
    {
        Assert.Equal("{{secret}} and x", Render("{{a}} and {{b}}", """{"a":"{{secret}}","b":"x","secret":"leaked"}"""));
    }

    [Fact]
    public void Replacement_patterns_in_a_value_are_plain_text()
    {
        Assert.Equal("$1 $0 ${text} $$", Render("{{text}}", """{"text":"$1 $0 ${text} $$"}"""));
    }

    [Fact]
    public void A_missing_field_renders_as_nothing()
    {
        Assert.Equal("a=, b=2", Render("a={{a}}, b={{b}}", """{"b":2}"""));
    }

    [Theory]
    [InlineData("{text}")]
    [InlineData("{{}}")]
    [InlineData("{{ }}")]
    [InlineData("{{te xt}}")]
    [InlineData("{{text.}}")]
    [InlineData("{{.text}}")]
    [InlineData("{{a..b}}")]
    [InlineData("{{text!}}")]
    [InlineData("{{ text }")]
    public void Text_that_is_not_a_placeholder_stays_as_it_is(string template)
    {
        var parsed = PromptTemplate.Parse(template);
        Assert.Empty(parsed.Fields);
        Assert.Equal(template, parsed.Render(Record("""{"text":"x","a":{"b":"y"}}""")));
    }

    [Fact]
    public void Extra_braces_around_a_placeholder_stay()
    {
        Assert.Equal("{x}", Render("{{{text}}}", """{"text":"x"}"""));
    }

    [Theory]
    [InlineData("{{my_field}}", "my_field")]
    [InlineData("{{my-field}}", "my-field")]
    [InlineData("{{Field2}}", "Field2")]
    [InlineData("{{0}}", "0")]
    public void Field_names_may_hold_letters_digits_underscores_and_dashes(string template, string field)
    {
        var parsed = PromptTemplate.Parse(template);
        Assert.Equal([field], parsed.Fields);
        Assert.Equal("v", parsed.Render(Record($$"""{"{{field}}":"v"}""")));
    }

    [Fact]
    public void Field_names_are_case_sensitive()
    {
        var template = PromptTemplate.Parse("{{Text}}");
        var record = Record("""{"text":"x"}""");
        Assert.Equal("", template.Render(record));
        Assert.Equal(["Text"], template.MissingFields(record));
    }

    [Fact]
    public void Fields_lists_each_placeholder_once_in_order_of_first_use()
    {
        Assert.Equal(["b", "a.c", "a"], PromptTemplate.Parse("{{b}} {{ a.c }} {{b}} {{a}} {{a.c}}").Fields);
    }

    [Fact]
    public void MissingFields_names_the_placeholders_the_record_has_no_value_for()
    {
        var template = PromptTemplate.Parse("{{id}} {{text}} {{meta.lang}} {{meta.score}} {{empty}}");
        Assert.Equal(["text", "meta.score"], template.MissingFields(Record("""{"id":1,"meta":{"lang":"en"},"empty":null}""")));
    }

    [Theory]
    [InlineData("""{"a":"flat"}""")]
    [InlineData("""{"a":["b"]}""")]
    [InlineData("""{"a":null}""")]
    [InlineData("""{"a.b":"dotted name"}""")]
    public void A_path_through_something_that_is_not_an_object_is_missing(string record)
    {
        var template = PromptTemplate.Parse("[{{a.b}}]");
        Assert.Equal(["a.b"], template.MissingFields(Record(record)));
        Assert.Equal("[]", template.Render(Record(record)));
    }

    [Theory]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("null")]
    public void A_record_that_is_not_an_object_has_no_fields(string record)
    {
        var template = PromptTemplate.Parse("x{{a}}y");
        Assert.Equal(["a"], template.MissingFields(Record(record)));
        Assert.Equal("xy", template.Render(Record(record)));
    }

    [Fact]
    public void A_null_value_counts_as_present()
    {
        Assert.Empty(PromptTemplate.Parse("{{a}}").MissingFields(Record("""{"a":null}""")));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void No_template_is_empty_and_renders_nothing(string? text)
    {
        var template = PromptTemplate.Parse(text);
        Assert.True(template.IsEmpty);
        Assert.Empty(template.Fields);
        Assert.Equal("", template.Render(Record("""{"a":1}""")));
    }

    [Fact]
    public void A_template_without_placeholders_comes_back_unchanged()
    {
        var template = PromptTemplate.Parse("Summarise the record. {not one} }} {{");
        Assert.False(template.IsEmpty);
        Assert.Equal("Summarise the record. {not one} }} {{", template.Render(Record("{}")));
        Assert.Empty(template.MissingFields(Record("{}")));
    }

    [Fact]
    public void One_template_renders_many_records_independently()
    {
        var template = PromptTemplate.Parse("<{{text}}>");
        Assert.Equal(["<a>", "<>", "<c>"], new[] { """{"text":"a"}""", "{}", """{"text":"c"}""" }.Select(r => template.Render(Record(r))));
    }

    private static string Render(string template, string record) => PromptTemplate.Parse(template).Render(Record(record));

    private static JsonElement Record(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }
}
