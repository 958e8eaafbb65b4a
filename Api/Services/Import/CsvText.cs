using System.Text;

namespace AspireBatch.Api.Services.Import;

/// <summary>
/// Feeds CsvHelper the lines of <see cref="LineReader"/> (so limits, BOM, UTF-16 and UTF-8 errors are judged per
/// numbered line) and, by following the quotes, knows on which line each record starts: CsvHelper's own row counters
/// give the line a record ends on, and one more at the end of the file.
/// </summary>
internal sealed class CsvText : TextReader, IAsyncDisposable
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly IAsyncEnumerator<(int Number, byte[] Bytes)> _lines;
    private readonly int _maxRecordBytes;
    private readonly Queue<int> _recordStarts = new();
    private readonly Queue<string> _pending = new();
    private string _current = "";
    private int _position;
    private bool _ended;
    private bool _insideQuotes;
    private int _recordStart;
    private long _recordBytes;

    public CsvText(Stream stream, ImportLimits limits, CancellationToken cancellationToken)
    {
        _lines = LineReader.ReadAsync(stream, limits, cancellationToken).GetAsyncEnumerator(cancellationToken);
        _maxRecordBytes = limits.MaxLineBytes;
    }

    /// <summary>The line of the last quote that opened a field and was never closed, once the file has ended.</summary>
    public int? UnclosedQuoteLine { get; private set; }

    /// <summary>The line the quote that is still open was opened on.</summary>
    public int QuoteOpenedOn { get; private set; }

    /// <summary>The first line that is not blank (the header), or null when the file has none; it is still served.</summary>
    public async ValueTask<string?> FirstLineAsync()
    {
        while (await FetchAsync() is { } line)
        {
            _pending.Enqueue(line);
            if (line.Length > 1)
            {
                return line[..^1];
            }
        }
        return null;
    }

    /// <summary>The line on which the record CsvHelper is parsing now starts.</summary>
    public int CurrentRecordStart => _recordStarts.TryPeek(out var line) ? line : _recordStart;

    /// <summary>Called once per record CsvHelper returns (header included): the line it started on.</summary>
    public int TakeRecordStart() => _recordStarts.TryDequeue(out var line) ? line : _recordStart;

    public override async ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default)
    {
        while (_position == _current.Length)
        {
            if (_pending.TryDequeue(out var next) || (next = await FetchAsync()) is not null)
            {
                _current = next;
                _position = 0;
            }
            else
            {
                return 0;
            }
        }
        var count = Math.Min(buffer.Length, _current.Length - _position);
        _current.AsSpan(_position, count).CopyTo(buffer.Span);
        _position += count;
        return count;
    }

    public override Task<int> ReadAsync(char[] buffer, int index, int count) => ReadAsync(buffer.AsMemory(index, count)).AsTask();

    // The upload is read asynchronously only; a synchronous read would block a request thread.
    public override int Read() => throw new NotSupportedException("read the upload with ReadAsync");

    public override int Read(char[] buffer, int index, int count) => throw new NotSupportedException("read the upload with ReadAsync");

    public override int Read(Span<char> buffer) => throw new NotSupportedException("read the upload with ReadAsync");

    public override int Peek() => throw new NotSupportedException("read the upload with ReadAsync");

    /// <summary>The next line with its "\n", after noting where records start; null at the end of the file.</summary>
    private async ValueTask<string?> FetchAsync()
    {
        if (_ended)
        {
            return null;
        }
        if (!await _lines.MoveNextAsync())
        {
            _ended = true;
            if (_insideQuotes)
            {
                UnclosedQuoteLine = QuoteOpenedOn;
            }
            return null;
        }
        var (number, bytes) = _lines.Current;
        string text;
        try
        {
            text = StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new ImportAbortedException(number, $"line {number} is not valid UTF-8; save the file as UTF-8");
        }
        if (!_insideQuotes)
        {
            if (bytes.Length == 0)
            {
                // A blank line between records: CsvHelper skips it too.
                return "\n";
            }
            _recordStart = number;
            _recordBytes = 0;
            _recordStarts.Enqueue(number);
        }
        _recordBytes += bytes.Length + 1;
        if (_recordBytes > _maxRecordBytes)
        {
            throw new ImportAbortedException(_recordStart,
                $"the record starting on line {_recordStart} is longer than {_maxRecordBytes:N0} bytes: the quote opened on line {QuoteOpenedOn} is probably never closed");
        }
        // In RFC 4180 every quote opens, closes or doubles inside a quoted field, so an odd count flips the state.
        // Where that does not hold (a stray quote) CsvHelper reports bad data on this very record.
        if (bytes.AsSpan().Count((byte)'"') % 2 == 1)
        {
            _insideQuotes = !_insideQuotes;
            if (_insideQuotes)
            {
                QuoteOpenedOn = number;
            }
        }
        return text + "\n";
    }

    /// <summary>Ends the line reader (it completes its pipe); CsvHelper is told to leave this reader open.</summary>
    public ValueTask DisposeAsync() => _lines.DisposeAsync();
}
