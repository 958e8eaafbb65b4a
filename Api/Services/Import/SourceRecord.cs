using System.Text.Json;

namespace AspireBatch.Api.Services.Import;

/// <summary>One line of an upload: a record ready to store, or the reason it cannot be.</summary>
public sealed record SourceRecord(int Line, string? Id, string? Payload, JsonDocument? Document, string? Error) : IDisposable
{
    /// <summary>An OpenAI Batch line's url; a template record goes where its job says.</summary>
    public AspireBatch.Contracts.JobEndpoint Endpoint { get; init; }

    public static SourceRecord Invalid(int line, string error) => new(line, null, null, null, error);

    public void Dispose() => Document?.Dispose();
}

public sealed record ImportLineError(int Line, string Message);

/// <summary>A problem that stops reading the file (too large, a line too long, not text).</summary>
public sealed class ImportAbortedException(int line, string message) : Exception(message)
{
    public int Line { get; } = line;
}

public sealed record ImportLimits(long MaxFileBytes, int MaxLineBytes);
