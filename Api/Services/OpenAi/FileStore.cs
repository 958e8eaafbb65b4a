using AspireBatch.Api.Services.Access;
using System.Data;
using System.Security.Cryptography;
using System.Text;
using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using NpgsqlTypes;

namespace AspireBatch.Api.Services.OpenAi;

/// <summary>Where a file's bytes come from: the `files` row of an upload, or a batch's items for its output and error files.</summary>
public sealed record FileSource(string Id, Guid? JobId, string? OutputKind);

/// <summary>
/// OpenAI's Files API over the `files` table. Uploads keep their bytes in the row and stream in and out of Postgres;
/// a batch's output and error files are rows without bytes whose content is exported from the batch's items when read,
/// so they are never stale and never held in memory.
/// </summary>
public sealed class FileStore(BatchDbContext db, NpgsqlDataSource dataSource, ResultExporter exporter, TimeProvider time, CallerAccess access)
{
    public const string BatchPurpose = "batch";
    public const string BatchOutputPurpose = "batch_output";
    public const string OutputKind = "output";
    public const string ErrorKind = "error";
    public const int MaxListLimit = 10_000;

    private static readonly ItemState[] OutputStates = [ItemState.Succeeded];
    private static readonly ItemState[] ErrorStates = [ItemState.Failed, ItemState.Cancelled];

    /// <summary>`file-` and 24 lower-case hex characters, like OpenAI's ids.</summary>
    public static string NewFileId() => "file-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    /// <summary>The id a batch's output or error file always has, so registering it twice is harmless.</summary>
    public static string BatchFileId(Guid jobId, string kind) =>
        "file-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{jobId:N}/{kind}"))[..12]);

    /// <summary>Stores an upload; with <paramref name="expiresAfterSeconds"/> (OpenAI's <c>expires_after</c>) it expires that long after now.</summary>
    public async Task<OpenAiFile> UploadAsync(string fileName, string purpose, Stream content, long length, int? expiresAfterSeconds, CancellationToken cancellationToken)
    {
        // Whole seconds of policy: the file object's expires_at is exactly its created_at + seconds.
        var now = time.GetUtcNow();
        var expiresAt = ExpiresAfter.At(now, expiresAfterSeconds);
        var file = new OpenAiFile(NewFileId(), length, now.ToUnixTimeSeconds(), fileName, purpose, expiresAt?.ToUnixTimeSeconds());
        await using var command = dataSource.CreateCommand("""
            INSERT INTO files (id, file_name, purpose, bytes, content, created_at, team, expires_at)
            VALUES (@id, @name, @purpose, @bytes, @content, @now, @team, @expires_at)
            """);
        command.Parameters.AddWithValue("expires_at", NpgsqlDbType.TimestampTz, (object?)expiresAt ?? DBNull.Value);
        command.Parameters.AddWithValue("id", file.Id);
        command.Parameters.AddWithValue("name", fileName);
        command.Parameters.AddWithValue("purpose", purpose);
        command.Parameters.AddWithValue("team", access.Team);
        command.Parameters.AddWithValue("bytes", length);
        // Npgsql copies the stream into the row: the upload is never a byte[] in memory.
        command.Parameters.Add(new NpgsqlParameter("content", NpgsqlDbType.Bytea) { Value = content });
        command.Parameters.AddWithValue("now", now);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return file;
    }

    public async Task<OpenAiFile?> GetAsync(string id, CancellationToken cancellationToken) =>
        (await Rows(db.Files.AsNoTracking().Where(f => f.Id == id)).ToListAsync(cancellationToken)).Select(ToDto).FirstOrDefault();

    /// <summary>OpenAI's list: newest first unless `order=asc`, `after` is the id of the last file of the previous page.</summary>
    public async Task<OpenAiList<OpenAiFile>?> ListAsync(string? purpose, int limit, bool ascending, string? after, CancellationToken cancellationToken)
    {
        var query = db.Files.AsNoTracking();
        if (access.TeamFilter is { } team)
        {
            query = query.Where(f => f.Team == team);
        }
        if (!string.IsNullOrWhiteSpace(purpose))
        {
            query = query.Where(f => f.Purpose == purpose);
        }
        if (!string.IsNullOrWhiteSpace(after))
        {
            var cursor = await db.Files.AsNoTracking().Where(f => f.Id == after).Select(f => (DateTimeOffset?)f.CreatedAt).FirstOrDefaultAsync(cancellationToken);
            if (cursor is not { } at)
            {
                return null;
            }
            query = ascending
                ? query.Where(f => f.CreatedAt > at || (f.CreatedAt == at && string.Compare(f.Id, after) > 0))
                : query.Where(f => f.CreatedAt < at || (f.CreatedAt == at && string.Compare(f.Id, after) < 0));
        }
        query = ascending ? query.OrderBy(f => f.CreatedAt).ThenBy(f => f.Id) : query.OrderByDescending(f => f.CreatedAt).ThenByDescending(f => f.Id);
        var rows = await Rows(query.Take(limit + 1)).ToListAsync(cancellationToken);
        var page = rows.Take(limit).Select(ToDto).ToList();
        return new OpenAiList<OpenAiFile>(page, page.FirstOrDefault()?.Id, page.LastOrDefault()?.Id, rows.Count > limit);
    }

    /// <summary>An upload goes with its bytes; a batch's output or error file becomes a tombstone (see <see cref="StoredFile.DeletedAt"/>).</summary>
    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        return await db.Files.Where(f => f.Id == id && f.JobId != null).ExecuteUpdateAsync(s => s.SetProperty(f => f.DeletedAt, now), cancellationToken) > 0
            || await db.Files.Where(f => f.Id == id && f.JobId == null).ExecuteDeleteAsync(cancellationToken) > 0;
    }

    public Task<FileSource?> FindSourceAsync(string id, CancellationToken cancellationToken) =>
        db.Files.AsNoTracking().Where(f => f.Id == id).Select(f => new FileSource(f.Id, f.JobId, f.OutputKind)).FirstOrDefaultAsync(cancellationToken);

    /// <summary>When retention purged the records a batch's output or error file is made from; null for an upload or a job not purged.</summary>
    public async Task<DateTimeOffset?> PurgedAtAsync(FileSource file, CancellationToken cancellationToken) =>
        file.JobId is { } jobId
            ? await db.Jobs.AsNoTracking().Where(j => j.Id == jobId).Select(j => j.PurgedAt).FirstOrDefaultAsync(cancellationToken)
            : null;

    /// <summary>Streams a file's content: an upload's stored bytes, or a batch's output (succeeded requests) or error file (failed and cancelled ones).</summary>
    public async Task WriteContentAsync(FileSource file, Stream output, CancellationToken cancellationToken)
    {
        if (file.JobId is { } jobId)
        {
            await exporter.WriteAsync(output, jobId, ExportFormat.OpenAi, [], file.OutputKind == ErrorKind ? ErrorStates : OutputStates, lineage: false, cancellationToken);
            return;
        }
        await ReadUploadAsync(file.Id, content => content.CopyToAsync(output, cancellationToken), cancellationToken);
    }

    /// <summary>Hands an upload's bytes to <paramref name="read"/> as a stream straight from Postgres.</summary>
    public async Task<bool> ReadUploadAsync(string id, Func<Stream, Task> read, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // Like every read (the files' query filter): an expired file is gone from the moment it expires.
        await using var command = new NpgsqlCommand(
            "SELECT content FROM files WHERE id = @id AND deleted_at IS NULL AND (expires_at IS NULL OR expires_at > now())", connection);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return false;
        }
        await using var content = reader.GetStream(0);
        await read(content);
        return true;
    }

    /// <summary>
    /// The output and error files of a finished batch, registered the first time someone looks: a file only for the
    /// requests it would hold (an all-succeeded batch has no error file, as at OpenAI). Their size is measured once,
    /// by streaming the export through a counter.
    /// </summary>
    public async Task<(string? OutputFileId, string? ErrorFileId)> EnsureBatchFilesAsync(Guid jobId, int succeeded, int failedOrCancelled, CancellationToken cancellationToken)
    {
        // Deleted ones count: the batch still names them and they are not registered again.
        var files = await db.Files.AsNoTracking().IgnoreQueryFilters().Where(f => f.JobId == jobId).Select(f => new { f.Id, f.OutputKind }).ToListAsync(cancellationToken);
        if (files.Count == 0)
        {
            foreach (var (kind, count) in new[] { (OutputKind, succeeded), (ErrorKind, failedOrCancelled) })
            {
                if (count == 0)
                {
                    continue;
                }
                var id = BatchFileId(jobId, kind);
                var counter = new CountingStream();
                await WriteContentAsync(new FileSource(id, jobId, kind), counter, cancellationToken);
                var name = $"batch_{jobId:N}_{kind}.jsonl";
                var now = time.GetUtcNow();
                // The batch's output_expires_after, anchored at the file's creation (now) as at OpenAI; null without one.
                await db.Database.ExecuteSqlAsync($"""
                    INSERT INTO files (id, file_name, purpose, bytes, content, job_id, output_kind, created_at, team, expires_at)
                    SELECT {id}, {name}, {BatchOutputPurpose}, {counter.Length}, ''::bytea, {jobId}, {kind}, {now}, team,
                        {now} + make_interval(secs => output_expires_after_seconds)
                    FROM jobs WHERE id = {jobId}
                    ON CONFLICT (id) DO NOTHING
                    """, cancellationToken);
                files.Add(new { Id = id, OutputKind = (string?)kind });
            }
        }
        return (files.FirstOrDefault(f => f.OutputKind == OutputKind)?.Id, files.FirstOrDefault(f => f.OutputKind == ErrorKind)?.Id);
    }

    // Never selects the content column.
    private static IQueryable<FileRow> Rows(IQueryable<StoredFile> files) =>
        files.Select(f => new FileRow(f.Id, f.Bytes, f.CreatedAt, f.FileName, f.Purpose, f.ExpiresAt));

    private static OpenAiFile ToDto(FileRow f) => new(f.Id, f.Bytes, f.CreatedAt.ToUnixTimeSeconds(), f.FileName, f.Purpose, f.ExpiresAt?.ToUnixTimeSeconds());

    private sealed record FileRow(string Id, long Bytes, DateTimeOffset CreatedAt, string FileName, string Purpose, DateTimeOffset? ExpiresAt);

    /// <summary>Counts what is written and keeps none of it.</summary>
    private sealed class CountingStream : Stream
    {
        private long _length;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _length;
        public override long Position { get => _length; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => _length += count;
        public override void Write(ReadOnlySpan<byte> buffer) => _length += buffer.Length;

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _length += buffer.Length;
            return ValueTask.CompletedTask;
        }
    }
}
