using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AspireBatch.Contracts;

namespace AspireBatch.Api.Services.Rehearsals;

/// <summary>
/// Decides whether two answers to the same record agree, the way the operator chose: the answer compared is its
/// "key" (the normalised text, the chosen JSON fields, or the label), and two answers agree when their keys are equal.
/// An answer that has no key (not JSON, no match) agrees with nothing.
/// </summary>
public sealed class AnswerJudge
{
    private static readonly TimeSpan RegexTimeout = TimeSpan.FromMilliseconds(200);
    private readonly JudgeRequest _judge;
    private readonly Regex? _pattern;

    private AnswerJudge(JudgeRequest judge, Regex? pattern) => (_judge, _pattern) = (judge, pattern);

    public JudgeKind Kind => _judge.Kind;

    /// <summary>The judge, or why it cannot be built (for the request's ValidationProblem).</summary>
    public static AnswerJudge Create(JudgeRequest judge, out string? error)
    {
        error = null;
        Regex? pattern = null;
        if (judge.Kind == JudgeKind.JsonFields && (judge.Fields is not { Count: > 0 } || judge.Fields.Any(string.IsNullOrWhiteSpace)))
        {
            error = "a jsonFields judge needs the fields to compare, e.g. [\"sentiment\", \"order.id\"]";
        }
        if (judge.Kind == JudgeKind.Label && !string.IsNullOrEmpty(judge.Pattern))
        {
            try
            {
                pattern = new Regex(judge.Pattern, RegexOptions.CultureInvariant, RegexTimeout);
            }
            catch (ArgumentException e)
            {
                error = $"the label pattern is not a valid regex: {e.Message}";
            }
        }
        return new AnswerJudge(judge, pattern);
    }

    /// <summary>What is compared of an answer; null when it has none (or the judge compares nothing).</summary>
    public string? Key(string? answer)
    {
        if (answer is null)
        {
            return null;
        }
        return _judge.Kind switch
        {
            JudgeKind.Exact => answer,
            JudgeKind.Normalized => Normalize(answer),
            JudgeKind.JsonFields => Fields(answer, _judge.Fields!),
            JudgeKind.Label => Label(answer),
            _ => null,
        };
    }

    /// <summary>Whether two keys agree; null when the judge compares nothing or one side has no answer.</summary>
    public bool? Agrees(string? baselineAnswer, string? candidateAnswer)
    {
        if (_judge.Kind == JudgeKind.None || baselineAnswer is null || candidateAnswer is null)
        {
            return null;
        }
        var a = Key(baselineAnswer);
        var b = Key(candidateAnswer);
        return a is not null && b is not null && string.Equals(a, b, StringComparison.Ordinal);
    }

    /// <summary>Case folded, whitespace runs collapsed, surrounding space and trailing punctuation dropped.</summary>
    public static string Normalize(string text)
    {
        var builder = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text.Normalize(NormalizationForm.FormKC).Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }
            if (space && builder.Length > 0)
            {
                builder.Append(' ');
            }
            space = false;
            builder.Append(char.ToLowerInvariant(c));
        }
        while (builder.Length > 0 && char.IsPunctuation(builder[^1]))
        {
            builder.Length--;
        }
        return builder.ToString().TrimEnd();
    }

    private string? Label(string answer)
    {
        if (_pattern is null)
        {
            var line = answer.Trim().Split('\n', 2)[0];
            return Normalize(line);
        }
        try
        {
            var match = _pattern.Match(answer);
            return !match.Success ? null : Normalize(match.Groups.Count > 1 && match.Groups[1].Success ? match.Groups[1].Value : match.Value);
        }
        catch (RegexMatchTimeoutException)
        {
            return null;
        }
    }

    /// <summary>The chosen fields as canonical JSON (object keys sorted), so spacing and key order do not matter.</summary>
    private static string? Fields(string answer, IReadOnlyList<string> fields)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(StripFence(answer));
        }
        catch (JsonException)
        {
            return null;
        }
        var picked = new StringBuilder();
        foreach (var field in fields)
        {
            JsonNode? node = root;
            foreach (var part in field.Split('.'))
            {
                node = node is JsonObject o && o.TryGetPropertyValue(part, out var child) ? child : null;
            }
            picked.Append(field).Append('=').Append(Canonical(node)).Append('\n');
        }
        return picked.ToString();
    }

    // Models often wrap JSON in a Markdown fence; the fields inside are what the operator compares.
    private static string StripFence(string answer)
    {
        var text = answer.Trim();
        if (text.StartsWith("```", StringComparison.Ordinal))
        {
            var firstLine = text.IndexOf('\n');
            var end = text.LastIndexOf("```", StringComparison.Ordinal);
            if (firstLine > 0 && end > firstLine)
            {
                return text[(firstLine + 1)..end];
            }
        }
        return text;
    }

    private static string Canonical(JsonNode? node) => node switch
    {
        null => "null",
        JsonObject o => "{" + string.Join(",", o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => JsonSerializer.Serialize(p.Key) + ":" + Canonical(p.Value))) + "}",
        JsonArray a => "[" + string.Join(",", a.Select(Canonical)) + "]",
        JsonValue v when v.TryGetValue<double>(out var d) => d.ToString("R", CultureInfo.InvariantCulture),
        JsonValue v when v.TryGetValue<string>(out var s) => JsonSerializer.Serialize(s.Trim()),
        _ => node.ToJsonString(),
    };
}
