using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace AspireBatch.Api.Services.Import;

/// <summary>Splits an upload into lines as it streams in; never holds more than one line and one read buffer.</summary>
public static class LineReader
{
    public static async IAsyncEnumerable<(int Number, byte[] Bytes)> ReadAsync(
        Stream stream, ImportLimits limits, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 16));
        var number = 0;
        long total = 0;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                var lines = new List<(byte[] Bytes, long RawLength)>();
                while (TryTakeLine(ref buffer, out var line, out var rawLength))
                {
                    lines.Add((line, rawLength));
                }
                // One byte more than a line may hold: its "\r" can arrive in one read and its "\n" in the next.
                if (buffer.Length > limits.MaxLineBytes + 1L)
                {
                    throw new ImportAbortedException(number + lines.Count + 1, $"line {number + lines.Count + 1} is longer than {limits.MaxLineBytes:N0} bytes");
                }
                if (result.IsCompleted && buffer.Length > 0)
                {
                    lines.Add((Trim(buffer.ToArray()), buffer.Length));
                    buffer = buffer.Slice(buffer.End);
                }
                foreach (var (line, rawLength) in lines)
                {
                    number++;
                    // The bytes of the upload, line ends included ("\r\n" is two).
                    total += rawLength;
                    if (total > limits.MaxFileBytes)
                    {
                        throw new ImportAbortedException(number, $"the file is larger than {limits.MaxFileBytes:N0} bytes");
                    }
                    if (line.Length > limits.MaxLineBytes)
                    {
                        throw new ImportAbortedException(number, $"line {number} is longer than {limits.MaxLineBytes:N0} bytes");
                    }
                    if (number == 1 && line.Length >= 2 && ((line[0] == 0xFF && line[1] == 0xFE) || (line[0] == 0xFE && line[1] == 0xFF)))
                    {
                        throw new ImportAbortedException(1, "the file is UTF-16; save it as UTF-8");
                    }
                    yield return (number, number == 1 ? StripBom(line) : line);
                }
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted)
                {
                    break;
                }
            }
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    private static bool TryTakeLine(ref ReadOnlySequence<byte> buffer, out byte[] line, out long rawLength)
    {
        var position = buffer.PositionOf((byte)'\n');
        if (position is null)
        {
            line = [];
            rawLength = 0;
            return false;
        }
        var content = buffer.Slice(0, position.Value);
        line = Trim(content.ToArray());
        rawLength = content.Length + 1;
        buffer = buffer.Slice(buffer.GetPosition(1, position.Value));
        return true;
    }

    private static byte[] Trim(byte[] line) => line.Length > 0 && line[^1] == '\r' ? line[..^1] : line;

    private static byte[] StripBom(byte[] line) =>
        line.Length >= 3 && line[0] == 0xEF && line[1] == 0xBB && line[2] == 0xBF ? line[3..] : line;
}
