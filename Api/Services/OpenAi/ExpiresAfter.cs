using System.Globalization;
using System.Text.Json;

namespace AspireBatch.Api.Services.OpenAi;

/// <summary>
/// OpenAI's file expiration policy: <c>expires_after</c> on an upload (multipart fields <c>expires_after[anchor]</c>
/// and <c>expires_after[seconds]</c>), <c>output_expires_after</c> on a batch (a JSON object) for its output and error
/// files. The anchor is always <c>created_at</c>, the file's creation; the seconds are between 3600 (1 hour) and
/// 2592000 (30 days), as at OpenAI.
/// </summary>
public static class ExpiresAfter
{
    public const string Anchor = "created_at";
    public const int MinSeconds = 3600;
    public const int MaxSeconds = 2_592_000;

    /// <summary>The seconds of an upload's <c>expires_after</c>, null when the form has none, or why it is refused.</summary>
    public static OpenAiFailure? FromForm(IFormCollection form, out int? seconds)
    {
        seconds = null;
        if (form.ContainsKey("expires_after"))
        {
            return OpenAiFailure.BadRequest("Invalid 'expires_after': send it as the form fields 'expires_after[anchor]' and 'expires_after[seconds]'.",
                "expires_after", "invalid_value");
        }
        var hasAnchor = form.TryGetValue("expires_after[anchor]", out var anchor);
        var hasSeconds = form.TryGetValue("expires_after[seconds]", out var value);
        if (!hasAnchor && !hasSeconds)
        {
            return null;
        }
        if (Check("expires_after", hasAnchor ? anchor.ToString() : null, hasSeconds ? value.ToString() : null, out var parsed) is { } failure)
        {
            return failure;
        }
        seconds = parsed;
        return null;
    }

    /// <summary>The seconds of a batch's <c>output_expires_after</c>, null when the body has none, or why it is refused.</summary>
    public static OpenAiFailure? FromJson(JsonElement body, string name, out int? seconds)
    {
        seconds = null;
        if (!body.TryGetProperty(name, out var policy) || policy.ValueKind == JsonValueKind.Null)
        {
            return null;
        }
        if (policy.ValueKind != JsonValueKind.Object)
        {
            return OpenAiFailure.BadRequest($"Invalid type for '{name}': expected an object with 'anchor' and 'seconds'.", name, "invalid_type");
        }
        string? anchor = null;
        if (policy.TryGetProperty("anchor", out var anchorValue) && anchorValue.ValueKind != JsonValueKind.Null)
        {
            if (anchorValue.ValueKind != JsonValueKind.String)
            {
                return OpenAiFailure.BadRequest($"Invalid type for '{name}.anchor': expected a string.", $"{name}.anchor", "invalid_type");
            }
            anchor = anchorValue.GetString();
        }
        string? raw = null;
        if (policy.TryGetProperty("seconds", out var secondsValue) && secondsValue.ValueKind != JsonValueKind.Null)
        {
            if (secondsValue.ValueKind != JsonValueKind.Number)
            {
                return OpenAiFailure.BadRequest($"Invalid type for '{name}.seconds': expected an integer.", $"{name}.seconds", "invalid_type");
            }
            raw = secondsValue.GetRawText();
        }
        if (Check(name, anchor, raw, out var parsed) is { } failure)
        {
            return failure;
        }
        seconds = parsed;
        return null;
    }

    /// <summary>When a file created at <paramref name="createdAt"/> expires under the policy; null without one.</summary>
    public static DateTimeOffset? At(DateTimeOffset createdAt, int? seconds) => seconds is { } s ? createdAt.AddSeconds(s) : null;

    private static OpenAiFailure? Check(string name, string? anchor, string? seconds, out int parsed)
    {
        parsed = 0;
        if (string.IsNullOrEmpty(anchor))
        {
            return OpenAiFailure.BadRequest($"Missing required parameter: '{name}.anchor'.", $"{name}.anchor", "missing_required_parameter");
        }
        if (anchor != Anchor)
        {
            return OpenAiFailure.BadRequest($"Invalid value for '{name}.anchor': '{anchor}'. Supported values are: '{Anchor}'.", $"{name}.anchor", "invalid_value");
        }
        if (string.IsNullOrEmpty(seconds))
        {
            return OpenAiFailure.BadRequest($"Missing required parameter: '{name}.seconds'.", $"{name}.seconds", "missing_required_parameter");
        }
        if (!int.TryParse(seconds, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out parsed) || parsed is < MinSeconds or > MaxSeconds)
        {
            return OpenAiFailure.BadRequest(
                $"Invalid '{name}.seconds': '{seconds}'. Expected an integer between {MinSeconds} (1 hour) and {MaxSeconds} (30 days).",
                $"{name}.seconds", "invalid_value");
        }
        return null;
    }
}
