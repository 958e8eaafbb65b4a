using System.Globalization;
using System.Text;
using System.Text.Json;
using AspireBatch.Api.Services.Import;
using CsvHelper;
using CsvHelper.Configuration;

namespace AspireBatch.UnitTests;

/// <summary>The parsers on their own: every problem is refused on the line where it starts.</summary>
public sealed class RecordParserTests
{
    private static readonly ImportLimits Limits = new(MaxFileBytes: 10_000_000, MaxLineBytes: 1_000);

    // --- What CsvHelper 33 does by itself (the strict parser relies on it) ---

    [Theory]
    [InlineData("id,text\n1,ab\"c\n2,d\n", "ab\"c")]
    [InlineData("id,text\n1,\"ab\"c\n2,d\n", "\"ab\"c")]
    [InlineData("id,text\n1,\"abc\n2,def\n", "\"abc\n2,def\n")]
    public void CsvHelper_calls_BadDataFound_for_each_quote_problem_including_an_open_quote_at_the_end(string input, string field)
    {
        var bad = new List<string>();
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture) { BadDataFound = args => bad.Add(args.Field) };
        using var parser = new CsvParser(new StringReader(input), configuration);
        var reported = 0;
        while (parser.Read())
        {
            // Fields are processed, and bad data found, only when they are read, not by Read().
            Assert.Equal(reported, bad.Count);
            _ = parser.Record;
            reported = bad.Count;
        }
        Assert.Equal([field], bad);
    }

    [Fact]
    public void CsvHelper_without_BadDataFound_lets_an_open_quote_swallow_the_rest_of_the_file()
    {
        var configuration = new CsvConfiguration(CultureInfo.InvariantCulture) { BadDataFound = null };
        using var parser = new CsvParser(new StringReader("id,text\n1,\"abc\n2,def\n"), configuration);
        var records = new List<(string[] Fields, int RawRow)>();
        while (parser.Read())
        {
            records.Add((parser.Record!, parser.RawRow));
        }
        Assert.Equal(2, records.Count);
        Assert.Equal("abc\n2,def\n", records[1].Fields[1]);
        // RawRow is the line a record ends on (one past the last line at the end of the file), not the line it starts on.
        Assert.Equal(4, records[1].RawRow);
    }

    // --- Strict CSV ---

    [Theory]
    [InlineData("id,text\n1,\"abc\n2,def\n", 2)]
    [InlineData("id,text\n1,a\n2,\"abc\n3,def\n4,ghi\n", 3)]
    [InlineData("id,text\n1,a\n2,\"abc\n3,def\n4,ghi", 3)]
    [InlineData("id,text\n1,a\n2,\"b\"\"\n", 3)]
    [InlineData("id,text\n1,\"a\nb\"\n2,\"c\n", 4)]
    [InlineData("id,text\n1,a\n2,b\n3,\"", 4)]
    public async Task An_unclosed_quote_is_refused_on_the_line_it_opens(string input, int line)
    {
        var aborted = await AbortsAsync(Csv(input));
        Assert.Equal(line, aborted.Line);
        Assert.Contains("never closed", aborted.Message);
    }

    [Fact]
    public async Task An_unclosed_quote_in_a_large_file_stops_at_the_record_limit_with_its_opening_line()
    {
        var input = "id,text\n1,a\n2,\"open\n" + string.Concat(Enumerable.Range(3, 5_000).Select(i => $"{i},{new string('x', 50)}\n"));
        var aborted = await AbortsAsync(Csv(input));
        Assert.Equal(3, aborted.Line);
        Assert.Contains("longer than 1,000 bytes", aborted.Message);
        Assert.Contains("quote opened on line 3", aborted.Message);
    }

    [Theory]
    [InlineData("id,text\n1,a\n2,ab\"c\n3,d\n", 3, "a quote inside a field that does not start with one (ab\"c)")]
    [InlineData("id,text\n1,abc\"\n", 2, "a quote inside a field that does not start with one")]
    [InlineData("id,text\n1,  \"a\"\n", 2, "a quote inside a field that does not start with one (  \"a\")")]
    [InlineData("id,text\n1,a\n2,\"ab\"c\n", 3, "text after the closing quote of a field (\"ab\"c)")]
    [InlineData("id,text\n1,\"a\"  \n", 2, "text after the closing quote")]
    [InlineData("id,text\n1,\"abc\n2,\"def\"\n", 2, "a quoted field opens here and closes on line 3, followed by text (def\")")]
    [InlineData("id,text,more\n1,\"a\nb\",c\"d\n", 3, "a quote inside a field that does not start with one (c\"d)")]
    [InlineData("id,te\"xt\n1,a\n", 1, "a quote inside a field")]
    public async Task A_stray_quote_is_refused_on_its_line(string input, int line, string message)
    {
        var aborted = await AbortsAsync(Csv(input));
        Assert.Equal(line, aborted.Line);
        Assert.Contains(message, aborted.Message);
    }

    [Fact]
    public async Task Records_with_quoted_newlines_keep_the_line_they_start_on()
    {
        var records = await RecordsAsync(Csv("id,text\n1,\"a\nb\n\nc\"\n2,d\n\n3,\"x\"\"y\"\n4,\"\"\n"));
        Assert.Equal([2, 6, 8, 9], records.Select(r => r.Line));
        Assert.Equal(["a\nb\n\nc", "d", "x\"y", ""], records.Select(r => Text(r)));
    }

    [Fact]
    public async Task Crlf_files_keep_their_line_numbers_and_quoted_line_breaks_become_newlines()
    {
        var records = await RecordsAsync(Csv("id,text\r\n1,\"a\r\nb\"\r\n\r\n2,c\r\n"));
        Assert.Equal([2, 5], records.Select(r => r.Line));
        Assert.Equal(["a\nb", "c"], records.Select(r => Text(r)));
    }

    [Fact]
    public async Task A_wrong_field_count_is_reported_on_the_record_start_and_reading_goes_on()
    {
        var records = await RecordsAsync(Csv("id,text\n1,\"a\nb\",extra\n2,b\n3\n4,d\n"));
        Assert.Equal([(2, "expected 2 fields as in the header, found 3"), (4, null), (5, "expected 2 fields as in the header, found 1"), (6, null)],
            records.Select(r => (r.Line, r.Error)));
    }

    [Fact]
    public async Task A_utf8_bom_is_not_part_of_the_first_column_name()
    {
        var records = await RecordsAsync(RecordParsers.CsvAsync(new MemoryStream([0xEF, 0xBB, 0xBF, .. Utf8("id;text\n1;a\n")]), "id", Limits, Token));
        var record = Assert.Single(records);
        Assert.Null(record.Error);
        Assert.Equal("1", record.Id);
        Assert.Equal("id", record.Document!.RootElement.EnumerateObject().First().Name);
    }

    [Theory]
    [InlineData("id,text\n1,\"a;b\"\n", "a;b")]
    [InlineData("id;text\n1;a,b\n", "a,b")]
    [InlineData("id\ttext\n1\ta,b;c\n", "a,b;c")]
    [InlineData("\"te;xt\",id\n\"a;b\",1\n", null)]
    public async Task The_delimiter_is_the_one_the_header_uses(string input, string? text)
    {
        var record = Assert.Single(await RecordsAsync(Csv(input)));
        Assert.Null(record.Error);
        Assert.Equal("1", record.Id);
        Assert.Equal(text ?? "a;b", record.Document!.RootElement.GetProperty(text is null ? "te;xt" : "text").GetString());
    }

    [Theory]
    [InlineData("id;text,more\n1;a,b\n", "the header mixes delimiters (semicolon and comma)")]
    [InlineData("id\ttext;more\n1\ta;b\n", "the header mixes delimiters (tab and semicolon)")]
    public async Task A_header_with_several_delimiters_is_refused(string input, string message)
    {
        var record = Assert.Single(await RecordsAsync(Csv(input)));
        Assert.Equal(1, record.Line);
        Assert.StartsWith(message, record.Error);
    }

    [Fact]
    public async Task A_single_column_file_needs_no_delimiter()
    {
        var records = await RecordsAsync(Csv("id\na\nb\n"));
        Assert.Equal(["a", "b"], records.Select(r => r.Id));
    }

    [Fact]
    public async Task Blank_lines_before_the_header_move_it_down()
    {
        var records = await RecordsAsync(Csv("\n\nkey,text\n1,a\n"));
        Assert.Equal([(3, "the header has no \"id\" column (columns: key, text)")], records.Select(r => (r.Line, r.Error)));
    }

    [Theory]
    [InlineData("id,text,text\n1,a,b\n", "the header names column \"text\" twice")]
    [InlineData("id,,text\n1,a,b\n", "column 2 of the header has no name")]
    [InlineData("key,text\n1,a\n", "the header has no \"id\" column (columns: key, text)")]
    public async Task A_bad_header_is_refused_on_line_1(string input, string message)
    {
        Assert.Equal([(1, message)], (await RecordsAsync(Csv(input))).Select(r => (r.Line, r.Error)));
    }

    [Fact]
    public async Task Another_id_column_can_be_named()
    {
        var record = Assert.Single(await RecordsAsync(RecordParsers.CsvAsync(Stream("key,text\nk1,a\n"), "key", Limits, Token)));
        Assert.Equal("k1", record.Id);
    }

    [Theory]
    [InlineData("id,text\n,a\n", "missing \"id\"")]
    [InlineData("id,text\n  ,a\n", "missing \"id\"")]
    [InlineData("id,text\n1,\"a\0b\"\n", "contains a NUL character")]
    public async Task A_bad_record_is_refused_on_its_line(string input, string message)
    {
        var record = Assert.Single(await RecordsAsync(Csv(input)));
        Assert.Equal(2, record.Line);
        Assert.StartsWith(message, record.Error);
    }

    [Theory]
    [InlineData("")]
    [InlineData("\n\n")]
    [InlineData("id,text\n")]
    [InlineData("id,text\n\n,\n  \n")]
    public async Task A_file_without_records_gives_none(string input)
    {
        Assert.Empty(await RecordsAsync(Csv(input)));
    }

    [Fact]
    public async Task Invalid_utf8_is_refused_on_its_own_line_even_far_into_the_file()
    {
        byte[] input = [.. Utf8("id,text\n" + string.Concat(Enumerable.Range(1, 499).Select(i => $"{i},{new string('a', 40)}\n"))), .. Utf8("500,b"), 0xC3, 0x28, .. Utf8("\n501,c\n")];
        var aborted = await AbortsAsync(RecordParsers.CsvAsync(new MemoryStream(input), "id", Limits, Token));
        Assert.Equal(501, aborted.Line);
        Assert.Contains("not valid UTF-8", aborted.Message);
    }

    [Fact]
    public async Task A_lone_carriage_return_stays_in_the_field()
    {
        var record = Assert.Single(await RecordsAsync(Csv("id,text\n1,a\rb\n")));
        Assert.Equal("a\rb", Text(record));
    }

    [Fact]
    public async Task A_csv_line_longer_than_the_limit_is_refused()
    {
        var aborted = await AbortsAsync(Csv("id,text\n1,a\n2," + new string('x', 2_000) + "\n"));
        Assert.Equal(3, aborted.Line);
        Assert.Contains("longer than 1,000 bytes", aborted.Message);
    }

    // --- JSONL ---

    [Fact]
    public async Task Jsonl_records_keep_their_line_numbers_past_blank_lines()
    {
        var records = await RecordsAsync(Jsonl("{\"id\":1,\"text\":\"a\"}\n\n  \n{\"id\":\"b\",\"text\":\"b\"}\r\n"));
        Assert.Equal([(1, "1"), (4, "b")], records.Select(r => (r.Line, r.Id)));
    }

    [Theory]
    [InlineData("{\"id\":1,\"text\":", "malformed JSON")]
    [InlineData("not json", "malformed JSON")]
    [InlineData("{\"id\":1} {\"id\":2}", "malformed JSON: '{' is invalid after a single JSON value")]
    [InlineData("[1,2]", "a line must be one JSON object")]
    [InlineData("\"text\"", "a line must be one JSON object")]
    [InlineData("{\"text\":\"a\"}", "missing \"id\"")]
    [InlineData("{\"id\":\"\",\"text\":\"a\"}", "missing \"id\"")]
    [InlineData("{\"id\":\"   \",\"text\":\"a\"}", "missing \"id\"")]
    [InlineData("{\"id\":true,\"text\":\"a\"}", "missing \"id\"")]
    [InlineData("{\"id\":{\"a\":1},\"text\":\"a\"}", "missing \"id\"")]
    [InlineData("{\"id\":1,\"text\":\"a\\u0000\"}", "contains \\u0000")]
    [InlineData("{\"id\":1,\"text\":\"a\",}", "malformed JSON")]
    public async Task A_bad_jsonl_line_is_refused_on_its_line(string line, string message)
    {
        var records = await RecordsAsync(Jsonl("{\"id\":0,\"text\":\"ok\"}\n" + line + "\n{\"id\":9,\"text\":\"ok\"}\n"));
        Assert.Equal([(1, null), (2, message), (3, null)], records.Select(r => (r.Line, r.Error is null ? null : message)));
        Assert.StartsWith(message, records[1].Error);
    }

    [Fact]
    public async Task Invalid_utf8_in_jsonl_is_refused_on_its_line()
    {
        byte[] input = [.. Utf8("{\"id\":1,\"text\":\"a\"}\n{\"id\":2,\"text\":\""), 0xFF, .. Utf8("\"}\n")];
        var records = await RecordsAsync(RecordParsers.JsonlAsync(new MemoryStream(input), "id", Limits, Token));
        Assert.Equal([(1, null), (2, "not valid UTF-8; save the file as UTF-8")], records.Select(r => (r.Line, r.Error)));
    }

    // --- OpenAI Batch ---

    [Fact]
    public async Task A_batch_line_gives_its_custom_id_and_body()
    {
        var record = Assert.Single(await RecordsAsync(Batch(BatchLine())));
        Assert.Null(record.Error);
        Assert.Equal("a", record.Id);
        Assert.Equal("gpt-4", record.Document!.RootElement.GetProperty("model").GetString());
    }

    [Theory]
    [InlineData("""{"method":"POST","url":"/v1/chat/completions","body":{}}""", "missing \"custom_id\"")]
    [InlineData("""{"custom_id":" ","method":"POST","url":"/v1/chat/completions","body":{}}""", "missing \"custom_id\"")]
    [InlineData("""{"custom_id":7,"method":"POST","url":"/v1/chat/completions","body":{}}""", "missing \"custom_id\"")]
    [InlineData("""{"custom_id":"a","method":"GET","url":"/v1/chat/completions","body":{}}""", "\"method\" must be \"POST\"")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/responses","body":{}}""", "\"url\" must be \"/v1/chat/completions\" or \"/v1/embeddings\"")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m"}}""", "\"body.input\" is required for /v1/embeddings")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":[1,2]}}""", "\"body.input\" must be a non-empty string or a list")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":""}}""", "\"body.input\" must be a non-empty string or a list")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x","dimensions":0}}""", "\"body.dimensions\" must be an integer")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/embeddings","body":{"model":"m","input":"x","encoding_format":1}}""", "\"body.encoding_format\" must be")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":"x"}""", "\"body\" must be a JSON object")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"messages":[{"role":"user","content":"hi"}]}}""", "\"body.model\" must be a non-empty string")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[]}}""", "\"body.messages\" must be a non-empty array")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":"hi"}}""", "\"body.messages\" must be a non-empty array")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[1]}}""", "\"body.messages[0]\" must be an object")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":"a"},{"content":"b"}]}}""", "\"body.messages[1]\" needs a \"role\"")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":5}]}}""", "\"body.messages[0]\" has \"content\" that is neither")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":["x"]}]}}""", "\"body.messages[0]\" has a content part")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":1}]}]}}""", "\"body.messages[0]\" has a content part")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","max_tokens":"100","messages":[{"role":"user","content":"hi"}]}}""", "\"body.max_tokens\" must be an integer")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","max_completion_tokens":0,"messages":[{"role":"user","content":"hi"}]}}""", "\"body.max_completion_tokens\" must be an integer")]
    [InlineData("""{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"hi"}]}}""", "\"body.max_tokens\" must be an integer")]
    [InlineData("""{"custom_id":"a"}, {}""", "malformed JSON")]
    public async Task A_bad_batch_line_is_refused_on_its_line(string line, string message)
    {
        var records = await RecordsAsync(Batch(BatchLine("first") + "\n" + line + "\n"));
        Assert.Equal(2, records.Count);
        Assert.Null(records[0].Error);
        Assert.Equal(2, records[1].Line);
        Assert.StartsWith(message, records[1].Error);
    }

    [Fact]
    public async Task Batch_messages_with_content_parts_or_null_content_are_accepted()
    {
        var line = """{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","max_tokens":50,"messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"x"}}]},{"role":"assistant","content":null}]}}""";
        Assert.Null(Assert.Single(await RecordsAsync(Batch(line))).Error);
    }

    // --- LineReader ---

    [Fact]
    public async Task Lines_are_numbered_from_1_with_crlf_trimmed_and_the_last_line_kept_without_newline()
    {
        var lines = await LinesAsync(Utf8("a\r\n\nb\nc"), Limits);
        Assert.Equal([(1, "a"), (2, ""), (3, "b"), (4, "c")], lines);
    }

    [Fact]
    public async Task Lines_split_across_read_buffers_come_out_whole()
    {
        var expected = Enumerable.Range(1, 3_000).Select(i => (i, new string((char)('a' + i % 26), 1 + i % 300))).ToList();
        var lines = await LinesAsync(Utf8(string.Concat(expected.Select(l => l.Item2 + "\n"))), Limits);
        Assert.Equal(expected, lines);
    }

    [Fact]
    public async Task A_utf8_bom_is_stripped_from_line_1_only()
    {
        var lines = await LinesAsync([0xEF, 0xBB, 0xBF, .. Utf8("a\n"), 0xEF, 0xBB, 0xBF, .. Utf8("b\n")], Limits);
        Assert.Equal("a", lines[0].Text);
        Assert.Equal("\uFEFFb", lines[1].Text);
    }

    [Theory]
    [InlineData(1_000, 999)]
    [InlineData(70_000, 69_999)]
    [InlineData(70_000, 1_000)]
    public async Task A_line_longer_than_the_limit_stops_reading_with_its_number(int length, int limit)
    {
        var aborted = await Assert.ThrowsAsync<ImportAbortedException>(() => LinesAsync(Utf8("short\n" + new string('x', length) + "\nafter\n"), new ImportLimits(10_000_000, limit)));
        Assert.Equal(2, aborted.Line);
        Assert.Equal($"line 2 is longer than {limit:N0} bytes", aborted.Message);
    }

    [Fact]
    public async Task A_line_of_exactly_the_limit_is_accepted()
    {
        var lines = await LinesAsync(Utf8(new string('x', 1_000) + "\n"), Limits);
        Assert.Equal(1_000, lines[0].Text.Length);
    }

    [Fact]
    public async Task A_file_larger_than_the_limit_stops_reading_on_the_line_that_crosses_it()
    {
        var aborted = await Assert.ThrowsAsync<ImportAbortedException>(() => LinesAsync(Utf8(string.Concat(Enumerable.Repeat("123456789\n", 20))), new ImportLimits(95, 1_000)));
        Assert.Equal(10, aborted.Line);
        Assert.Contains("larger than 95 bytes", aborted.Message);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_utf16_file_is_refused(bool littleEndian)
    {
        var encoding = new UnicodeEncoding(bigEndian: !littleEndian, byteOrderMark: true);
        var aborted = await Assert.ThrowsAsync<ImportAbortedException>(() => LinesAsync([.. encoding.GetPreamble(), .. encoding.GetBytes("id,text\n1,a\n")], Limits));
        Assert.Equal(1, aborted.Line);
        Assert.Contains("UTF-16", aborted.Message);
    }

    [Fact]
    public async Task A_utf16_csv_is_refused_too()
    {
        var aborted = await AbortsAsync(RecordParsers.CsvAsync(new MemoryStream([.. Encoding.Unicode.GetPreamble(), .. Encoding.Unicode.GetBytes("id,text\n1,a\n")]), "id", Limits, Token));
        Assert.Contains("UTF-16", aborted.Message);
    }

    [Fact]
    public async Task An_empty_upload_has_no_lines()
    {
        Assert.Empty(await LinesAsync([], Limits));
    }

    [Theory]
    [InlineData("\n", new[] { "" })]
    [InlineData("\r\n", new[] { "" })]
    [InlineData("a\r\r\nb\rc\r", new[] { "a\r", "b\rc" })]
    [InlineData("a\n\n", new[] { "a", "" })]
    public async Task One_carriage_return_is_trimmed_only_before_a_newline_or_the_end(string input, string[] expected)
    {
        Assert.Equal(expected, (await LinesAsync(Utf8(input), Limits)).Select(l => l.Text));
    }

    [Fact]
    public async Task A_file_that_is_only_a_bom_is_one_empty_line()
    {
        Assert.Equal([(1, "")], await LinesAsync([0xEF, 0xBB, 0xBF], Limits));
    }

    [Fact]
    public async Task Utf16_is_only_looked_for_on_line_1()
    {
        var lines = new List<byte[]>();
        await foreach (var (_, bytes) in LineReader.ReadAsync(new MemoryStream([.. Utf8("a\n"), 0xFF, 0xFE, .. Utf8("b\n")]), Limits, Token))
        {
            lines.Add(bytes);
        }
        Assert.Equal([[(byte)'a'], [0xFF, 0xFE, (byte)'b']], lines);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(7)]
    public async Task An_upload_that_trickles_in_gives_the_same_lines(int bytesPerRead)
    {
        byte[] input = [0xEF, 0xBB, 0xBF, .. Utf8("first\r\n\nsecond é\nthird\r\n" + new string('x', 300) + "\nlast")];
        var whole = await LinesAsync(input, Limits);
        Assert.Equal([(1, "first"), (2, ""), (3, "second é"), (4, "third"), (5, new string('x', 300)), (6, "last")], whole);
        Assert.Equal(whole, await LinesAsync(new TrickleStream(input, bytesPerRead), Limits));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    public async Task A_line_of_exactly_the_limit_is_accepted_however_its_line_break_arrives(string lineBreak)
    {
        // A byte at a time the buffer holds the line and its "\r" before the "\n" comes.
        var input = Utf8(new string('x', 1_000) + lineBreak + "next" + lineBreak);
        var lines = await LinesAsync(new TrickleStream(input, 1), Limits);
        Assert.Equal([(1, new string('x', 1_000)), (2, "next")], lines);
    }

    [Fact]
    public async Task A_line_one_byte_over_the_limit_is_refused_when_it_trickles_in_too()
    {
        var aborted = await Assert.ThrowsAsync<ImportAbortedException>(() => LinesAsync(new TrickleStream(Utf8("ok\n" + new string('x', 1_001) + "\r\n"), 1), Limits));
        Assert.Equal(2, aborted.Line);
        Assert.Equal("line 2 is longer than 1,000 bytes", aborted.Message);
    }

    [Fact]
    public async Task A_file_of_exactly_the_limit_is_accepted()
    {
        // 99 bytes: nine lines of ten and a last one of nine without a newline.
        var input = Utf8(string.Concat(Enumerable.Repeat("123456789\n", 9)) + "123456789");
        Assert.Equal(99, input.Length);
        Assert.Equal(10, (await LinesAsync(input, new ImportLimits(99, 1_000))).Count);
        var aborted = await Assert.ThrowsAsync<ImportAbortedException>(() => LinesAsync(input, new ImportLimits(98, 1_000)));
        Assert.Equal(10, aborted.Line);
    }

    [Fact]
    public async Task Crlf_line_ends_count_as_two_bytes_of_the_file()
    {
        // Ten lines of "abc\r\n" are 50 bytes: a limit of 47 is crossed on line 10, not passed as 40 bytes.
        var input = Utf8(string.Concat(Enumerable.Repeat("abc\r\n", 10)));
        var aborted = await Assert.ThrowsAsync<ImportAbortedException>(() => LinesAsync(input, new ImportLimits(47, 1_000)));
        Assert.Equal(10, aborted.Line);
        Assert.Equal("the file is larger than 47 bytes", aborted.Message);
        Assert.Equal(10, (await LinesAsync(input, new ImportLimits(50, 1_000))).Count);
    }

    [Fact]
    public async Task A_cancelled_read_stops()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in LineReader.ReadAsync(Stream("a\nb\n"), Limits, cancelled.Token))
            {
            }
        });
    }

    // --- More of each parser ---

    [Fact]
    public async Task Jsonl_can_take_another_id_field_and_keeps_the_line_as_the_payload()
    {
        var line = "{\"key\":\"k-1\", \"text\":\"caf\u00e9\",\"id\":\"not this\"}";
        var record = Assert.Single(await RecordsAsync(RecordParsers.JsonlAsync(Stream(line + "\n"), "key", Limits, Token)));
        Assert.Equal("k-1", record.Id);
        Assert.Equal(line, record.Payload);
        Assert.Equal("café", Text(record));
    }

    [Theory]
    [InlineData("7", "7")]
    [InlineData("-7", "-7")]
    [InlineData("1.50", "1.50")]
    [InlineData("1e3", "1e3")]
    [InlineData("\"00042\"", "00042")]
    public async Task A_jsonl_id_keeps_its_text_as_written(string id, string expected)
    {
        var record = Assert.Single(await RecordsAsync(Jsonl($"{{\"id\":{id},\"text\":\"a\"}}\n")));
        Assert.Equal(expected, record.Id);
    }

    [Fact]
    public async Task A_utf8_bom_before_the_first_jsonl_line_is_ignored()
    {
        var record = Assert.Single(await RecordsAsync(RecordParsers.JsonlAsync(new MemoryStream([0xEF, 0xBB, 0xBF, .. Utf8("{\"id\":\"a\"}\n")]), "id", Limits, Token)));
        Assert.Null(record.Error);
        Assert.Equal("a", record.Id);
    }

    [Fact]
    public async Task A_batch_record_is_its_body_and_blank_lines_keep_the_numbering()
    {
        var body = """{"model":"gpt-4","max_completion_tokens":1000000,"messages":[{"role":"user","content":"hi"}]}""";
        var line = $$"""{"custom_id":"req-2","method":"POST","url":"/v1/chat/completions","body":{{body}}}""";
        var records = await RecordsAsync(Batch(BatchLine("req-1") + "\n\n  \n" + line + "\n"));
        Assert.Equal([(1, "req-1"), (4, "req-2")], records.Select(r => (r.Line, r.Id)));
        Assert.Equal(body, records[1].Payload);
        Assert.Equal(1_000_000, records[1].Document!.RootElement.GetProperty("max_completion_tokens").GetInt32());
    }

    [Fact]
    public async Task A_batch_token_cap_above_a_million_is_refused()
    {
        var line = """{"custom_id":"a","method":"POST","url":"/v1/chat/completions","body":{"model":"m","max_tokens":1000001,"messages":[{"role":"user","content":"hi"}]}}""";
        Assert.StartsWith("\"body.max_tokens\" must be an integer between 1 and 1,000,000", Assert.Single(await RecordsAsync(Batch(line))).Error);
    }

    [Fact]
    public async Task Csv_fields_become_a_json_object_of_strings_with_the_id_trimmed()
    {
        var record = Assert.Single(await RecordsAsync(Csv("id,n,text\n 7 ,42,\"é <b>&\"\n")));
        Assert.Equal("7", record.Id);
        var root = record.Document!.RootElement;
        Assert.Equal([("id", " 7 "), ("n", "42"), ("text", "é <b>&")], root.EnumerateObject().Select(p => (p.Name, p.Value.GetString())));
        Assert.Equal(JsonValueKind.String, root.GetProperty("n").ValueKind);
    }

    [Theory]
    [InlineData("id,text", ",")]
    [InlineData("id;text", ";")]
    [InlineData("id\ttext", "\t")]
    [InlineData("id", ",")]
    [InlineData("\"a,b\";id", ";")]
    [InlineData("\"a;b\"", ",")]
    [InlineData("id,text,more", ",")]
    public void The_csv_delimiter_is_counted_outside_quotes(string header, string delimiter)
    {
        Assert.Equal((delimiter, null), RecordParsers.CsvDelimiter(header));
    }

    [Fact]
    public void Three_delimiters_in_a_header_are_all_named()
    {
        var (delimiter, error) = RecordParsers.CsvDelimiter("a,b;c\td");
        Assert.Null(delimiter);
        Assert.StartsWith("the header mixes delimiters (comma and semicolon and tab)", error);
    }

    /// <summary>A stream that hands out at most a few bytes per read, as a slow upload does.</summary>
    private sealed class TrickleStream(byte[] bytes, int bytesPerRead) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, bytesPerRead));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, bytesPerRead)]);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, bytesPerRead), cancellationToken);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, bytesPerRead)], cancellationToken);
    }

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static MemoryStream Stream(string text) => new(Utf8(text));

    private static IAsyncEnumerable<SourceRecord> Csv(string text) => RecordParsers.CsvAsync(Stream(text), "id", Limits, Token);

    private static IAsyncEnumerable<SourceRecord> Jsonl(string text) => RecordParsers.JsonlAsync(Stream(text), "id", Limits, Token);

    private static IAsyncEnumerable<SourceRecord> Batch(string text) => RecordParsers.OpenAiBatchAsync(Stream(text), Limits, Token);

    private static string BatchLine(string customId = "a") =>
        JsonSerializer.Serialize(new { custom_id = customId, method = "POST", url = "/v1/chat/completions", body = new { model = "gpt-4", messages = new[] { new { role = "user", content = "hi" } } } });

    private static string? Text(SourceRecord record) => record.Document!.RootElement.GetProperty("text").GetString();

    private static async Task<List<SourceRecord>> RecordsAsync(IAsyncEnumerable<SourceRecord> records)
    {
        var list = new List<SourceRecord>();
        await foreach (var record in records)
        {
            list.Add(record);
        }
        return list;
    }

    private static async Task<ImportAbortedException> AbortsAsync(IAsyncEnumerable<SourceRecord> records) =>
        await Assert.ThrowsAsync<ImportAbortedException>(() => RecordsAsync(records));

    private static Task<List<(int Number, string Text)>> LinesAsync(byte[] input, ImportLimits limits) => LinesAsync(new MemoryStream(input), limits);

    private static async Task<List<(int Number, string Text)>> LinesAsync(Stream input, ImportLimits limits)
    {
        var lines = new List<(int, string)>();
        await foreach (var (number, bytes) in LineReader.ReadAsync(input, limits, Token))
        {
            lines.Add((number, Encoding.UTF8.GetString(bytes)));
        }
        return lines;
    }
}
