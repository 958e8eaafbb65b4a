using System.Collections.Concurrent;
using System.Security.Cryptography;
using AspireBatch.Simulator.Contracts;

namespace AspireBatch.Simulator.Services;

/// <summary>A stored file: immutable once added, so a batch can keep reading its input after the file is deleted.</summary>
public sealed record StoredFile(string Id, string Filename, string Purpose, DateTimeOffset CreatedAt, byte[] Content, long Sequence)
{
    /// <summary>Files for batches expire 30 days after creation at OpenAI; the simulator only reports it.</summary>
    private static readonly TimeSpan BatchFileLifetime = TimeSpan.FromDays(30);

    public FileObject ToObject() => new(
        Id, "file", Content.LongLength, CreatedAt.ToUnixTimeSeconds(),
        Purpose is FileStore.BatchPurpose or FileStore.BatchOutputPurpose ? (CreatedAt + BatchFileLifetime).ToUnixTimeSeconds() : null,
        Filename, Purpose, "processed", null);
}

/// <summary>
/// The files of <c>/v1/files</c>, in memory. Uploads are refused past <see cref="SimulatorOptions.FileStoreMaxBytes"/> in
/// total; batch output files are always kept (they are bounded by their inputs).
/// </summary>
public sealed class FileStore(TimeProvider time)
{
    public const string BatchPurpose = "batch";
    public const string BatchOutputPurpose = "batch_output";

    /// <summary>The purposes OpenAI's CreateFileRequest accepts.</summary>
    public static readonly IReadOnlyList<string> UploadPurposes = ["assistants", BatchPurpose, "fine-tune", "vision", "user_data", "evals"];

    private readonly ConcurrentDictionary<string, StoredFile> _files = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private long _storedBytes;
    private long _sequence;

    public long StoredBytes => Interlocked.Read(ref _storedBytes);

    /// <summary>Stores an upload unless it would take the store past <paramref name="maxStoredBytes"/>.</summary>
    public bool TryUpload(string filename, string purpose, byte[] content, long maxStoredBytes, out StoredFile file)
    {
        lock (_gate)
        {
            if (_storedBytes + content.LongLength > maxStoredBytes)
            {
                file = null!;
                return false;
            }

            file = AddLocked(filename, purpose, content);
            return true;
        }
    }

    /// <summary>Stores a file the simulator wrote (a batch's output or error file).</summary>
    public StoredFile AddOutput(string filename, byte[] content)
    {
        lock (_gate)
        {
            return AddLocked(filename, BatchOutputPurpose, content);
        }
    }

    public bool TryGet(string id, out StoredFile file) => _files.TryGetValue(id, out file!);

    public bool Delete(string id)
    {
        lock (_gate)
        {
            if (!_files.TryRemove(id, out var file))
            {
                return false;
            }

            _storedBytes -= file.Content.LongLength;
            return true;
        }
    }

    /// <summary>Files of a purpose (all when null) by creation, newest first unless <paramref name="ascending"/>.</summary>
    public List<StoredFile> List(string? purpose, bool ascending)
    {
        var files = _files.Values.Where(f => purpose is null || f.Purpose == purpose);
        return [.. ascending ? files.OrderBy(f => f.Sequence) : files.OrderByDescending(f => f.Sequence)];
    }

    private StoredFile AddLocked(string filename, string purpose, byte[] content)
    {
        var file = new StoredFile(NewId(), filename, purpose, time.GetUtcNow(), content, ++_sequence);
        _files[file.Id] = file;
        _storedBytes += content.LongLength;
        return file;
    }

    private static string NewId() => "file-" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 22);
}
