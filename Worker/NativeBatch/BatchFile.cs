using System.Text;
using System.Text.Json.Nodes;
using AspireBatch.Contracts;

namespace AspireBatch.Worker.NativeBatch;

/// <summary>
/// An input file for a provider's /v1/batches: one JSON line per record, <c>custom_id</c> the record's item id (unique
/// in the job, and what the output lines are matched back by), cut to the line and byte limits.
/// </summary>
public static class BatchFile
{
    public static string Line(long itemId, JobEndpoint endpoint, JsonObject body) => new JsonObject
    {
        ["custom_id"] = itemId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["method"] = "POST",
        ["url"] = endpoint.Path(),
        ["body"] = body,
    }.ToJsonString();

    /// <summary>
    /// How many of <paramref name="lines"/>, from the first, fit one file of at most <paramref name="maxLines"/> lines and
    /// <paramref name="maxBytes"/> bytes (UTF-8, one newline after each). A first line bigger than the limit is taken
    /// alone: the provider then refuses it, rather than the record waiting forever.
    /// </summary>
    public static int Fit(IReadOnlyList<string> lines, int maxLines, long maxBytes)
    {
        long bytes = 0;
        var count = 0;
        foreach (var line in lines)
        {
            var size = Encoding.UTF8.GetByteCount(line) + 1;
            if (count >= maxLines || (count > 0 && bytes + size > maxBytes))
            {
                break;
            }
            bytes += size;
            count++;
        }
        return count;
    }

    /// <summary>The file's bytes: the lines, each ended by a newline.</summary>
    public static byte[] Content(IEnumerable<string> lines)
    {
        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append(line).Append('\n');
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
