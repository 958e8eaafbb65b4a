using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace AspireBatch.Simulator;

/// <summary>What the simulator answers, as a pure function, so tests anywhere can compute the expected completion.</summary>
/// <remarks>
/// <para><b>Answer</b>: <c>$"sim:{hex8} {summary}"</c>. <c>hex8</c> is the first 8 lowercase hex characters of SHA-256
/// over the UTF-8 bytes of the concatenation of <c>$"{role}:{content}\n"</c> for every message in order (the model is
/// not part of it, so every instance and model gives the same answer). <c>summary</c> is the first 48 UTF-16 characters
/// of the last <c>user</c> message's content (47 when the 48th would split a surrogate pair; empty without a user message).</para>
/// <para><b>Tokens</b>: <see cref="CountTokens"/> = number of whitespace-separated words + number of punctuation
/// characters (<see cref="char.IsPunctuation(char)"/>). prompt_tokens = sum over messages of CountTokens(content) + 4.
/// completion_tokens = CountTokens(answer after the cut below); the <c>{"answer": ...}</c> wrapper of json_object mode is not counted.</para>
/// <para><b>json_schema</b>: the answer is <see cref="SchemaAnswers.Conforming"/> (or, for a drawn violation,
/// <see cref="SchemaAnswers.Violating"/>), counted and cut the same way.</para>
/// <para><b>Cut</b>: when max_tokens (or max_completion_tokens) is below the answer's token count, the answer keeps its
/// longest prefix of whole words whose token count fits max_tokens (words joined by one space) and finish_reason is
/// <c>length</c>; so completion_tokens never exceeds max_tokens.</para>
/// </remarks>
public static class SimulatorAnswers
{
    public const int SummaryLength = 48;
    public const int TokensPerMessage = 4;

    public static string Answer(string model, IReadOnlyList<(string Role, string Content)> messages) => Answer(model, messages, AnswerStyle.Default);

    /// <summary>
    /// The answer in a <paramref name="style"/>: with labels, <c>labels[h % n]</c> where <c>h</c> is the first 4 bytes of
    /// the transcript's SHA-256 as a big-endian uint; a prompt this instance disagrees on (the first 4 bytes of SHA-256 over
    /// <c>salt + "\n" + transcript</c>, as a uint divided by 2^32, below the rate) gets <c>labels[(h + 1) % n]</c>, or
    /// without labels the usual answer followed by <c>" (alt)"</c>.
    /// </summary>
    public static string Answer(string model, IReadOnlyList<(string Role, string Content)> messages, AnswerStyle style)
    {
        var transcript = Transcript(messages, out var lastUser);
        var disagrees = style.DisagreeRate > 0
            && BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(style.Salt + "\n" + transcript))) / 4294967296.0 < style.DisagreeRate;
        if (style.Labels is { Count: > 0 } labels)
        {
            var index = BinaryPrimitives.ReadUInt32BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(transcript))) % (uint)labels.Count;
            return labels[(int)((index + (disagrees ? 1u : 0u)) % (uint)labels.Count)];
        }
        var answer = Usual(model, transcript, lastUser);
        return disagrees ? answer + " (alt)" : answer;
    }

    private static string Transcript(IReadOnlyList<(string Role, string Content)> messages, out string? lastUser)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var transcript = new StringBuilder();
        lastUser = null;
        foreach (var (role, content) in messages)
        {
            transcript.Append(role).Append(':').Append(content).Append('\n');
            if (role == "user")
            {
                lastUser = content;
            }
        }
        return transcript.ToString();
    }

    private static string Usual(string model, string transcript, string? lastUser)
    {
        _ = model; // Deliberately not part of the answer: primary and fallback instances must agree.
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(transcript), hash);
        return $"sim:{Convert.ToHexStringLower(hash[..4])} {Summary(lastUser ?? string.Empty)}";
    }

    public static int CountTokens(string text)
    {
        var tokens = 0;
        var inWord = false;
        foreach (var c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                inWord = false;
                continue;
            }

            if (!inWord)
            {
                tokens++;
                inWord = true;
            }

            if (char.IsPunctuation(c))
            {
                tokens++;
            }
        }

        return tokens;
    }

    public static int CountPromptTokens(IReadOnlyList<(string Role, string Content)> messages)
    {
        var total = 0;
        foreach (var (_, content) in messages)
        {
            total += CountTokens(content) + TokensPerMessage;
        }

        return total;
    }

    /// <summary>The full completion for a request: content as returned, finish reason and usage.</summary>
    public static SimulatedCompletion Complete(
        string model,
        IReadOnlyList<(string Role, string Content)> messages,
        int? maxTokens = null,
        bool jsonObject = false,
        AnswerStyle? style = null,
        JsonElement? schema = null,
        bool violateSchema = false)
    {
        // With a schema the answer is the document of SchemaAnswers (labels and disagreement do not apply to it).
        var answer = schema is { } given
            ? violateSchema ? SchemaAnswers.Violating(given, messages) : SchemaAnswers.Conforming(given, messages)
            : Answer(model, messages, style ?? AnswerStyle.Default);
        var completionTokens = CountTokens(answer);
        var finishReason = "stop";
        if (maxTokens is { } max && max < completionTokens)
        {
            answer = Cut(answer, max);
            completionTokens = CountTokens(answer);
            finishReason = "length";
        }

        var content = jsonObject && schema is null ? JsonSerializer.Serialize(new { answer }) : answer;
        return new SimulatedCompletion(content, finishReason, CountPromptTokens(messages), completionTokens);
    }

    /// <summary>The longest prefix of whole words of <paramref name="text"/> whose token count is at most <paramref name="maxTokens"/>.</summary>
    public static string Cut(string text, int maxTokens)
    {
        var kept = new StringBuilder();
        var used = 0;
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            var cost = CountTokens(word);
            if (used + cost > maxTokens)
            {
                break;
            }

            used += cost;
            if (kept.Length > 0)
            {
                kept.Append(' ');
            }

            kept.Append(word);
        }

        return kept.ToString();
    }

    private static string Summary(string content)
    {
        if (content.Length <= SummaryLength)
        {
            return content;
        }

        var length = char.IsHighSurrogate(content[SummaryLength - 1]) ? SummaryLength - 1 : SummaryLength;
        return content[..length];
    }
}

/// <summary>How an instance answers: the usual way, or as a classifier, and how often it disagrees with the others.</summary>
public sealed record AnswerStyle(IReadOnlyList<string> Labels, double DisagreeRate, string Salt)
{
    public static AnswerStyle Default { get; } = new([], 0, "");
}

/// <summary>A simulated completion: the message content and the usage the simulator reports for it.</summary>
public sealed record SimulatedCompletion(string Content, string FinishReason, int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}
