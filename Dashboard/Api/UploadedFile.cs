using Microsoft.AspNetCore.Components.Forms;

namespace AspireBatch.Dashboard.Api;

/// <summary>
/// A browser file copied once to a temporary file on the Dashboard, so preview and submit can each stream it
/// to the Api without sending it over the circuit twice. Deleted on dispose.
/// </summary>
public sealed class UploadedFile : IAsyncDisposable
{
    private UploadedFile(string path, string name, long size)
    {
        Path = path;
        Name = name;
        Size = size;
    }

    public string Path { get; }
    public string Name { get; }
    public long Size { get; }

    public Stream OpenRead() => new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true);

    public static async Task<UploadedFile> SaveAsync(IBrowserFile file, long maxBytes, Action<long> progress, CancellationToken cancellationToken)
    {
        var folder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "aspirebatch-uploads");
        Directory.CreateDirectory(folder);
        var path = System.IO.Path.Combine(folder, Guid.NewGuid().ToString("N"));
        try
        {
            await using var source = file.OpenReadStream(maxBytes, cancellationToken);
            await using var target = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, 81920, useAsync: true);
            var buffer = new byte[81920];
            long copied = 0;
            int read;
            while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
            {
                await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                copied += read;
                progress(copied);
            }
            return new UploadedFile(path, file.Name, copied);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            File.Delete(Path);
        }
        catch (IOException)
        {
            // A temporary file left behind is harmless; the OS cleans the temp folder.
        }
        return ValueTask.CompletedTask;
    }
}
