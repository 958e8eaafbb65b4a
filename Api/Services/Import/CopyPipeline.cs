using System.Threading.Channels;

namespace AspireBatch.Api.Services.Import;

/// <summary>
/// The import's second core. The request's thread reads, checks and tokenizes the records (line numbers, errors and
/// the duplicate-id check stay there, in file order); this sends the good ones to the binary COPY of an
/// <see cref="ItemSink"/> on another thread, in batches through a small bounded channel, so parsing and writing overlap.
/// Only the writer touches the sink until <see cref="CompleteAsync"/> or <see cref="StopAsync"/> has returned: then
/// the caller commits or abandons it. The writer reads a record's line, id and payload only (its JSON document is
/// disposed by the reader).
/// </summary>
public sealed class CopyPipeline : IAsyncDisposable
{
    private const int BatchSize = 256;
    private readonly Channel<Prepared[]> _channel = Channel.CreateBounded<Prepared[]>(
        new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly ItemSink _sink;
    private readonly Task _writer;
    private Prepared[] _batch = new Prepared[BatchSize];
    private int _count;
    private volatile bool _stopped;

    public CopyPipeline(ItemSink sink, CancellationToken cancellationToken)
    {
        _sink = sink;
        _writer = Task.Run(() => WriteAsync(cancellationToken), CancellationToken.None);
    }

    /// <summary>Queues a good record for the COPY; waits only when the writer is 16 batches behind.</summary>
    public async ValueTask AddAsync(SourceRecord record, int estimatedInputTokens, byte[]? requestHash, CancellationToken cancellationToken)
    {
        _batch[_count++] = new Prepared(record, estimatedInputTokens, requestHash);
        if (_count == BatchSize)
        {
            await FlushAsync(cancellationToken);
        }
    }

    /// <summary>The whole file was read and good: sends the rest and waits until the writer has written every record (or throws what it met).</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken);
        _channel.Writer.TryComplete();
        await _writer;
    }

    /// <summary>The file is bad (or the request ended): the writer stops after the row it is writing; the sink may then be abandoned.</summary>
    public async ValueTask StopAsync()
    {
        _stopped = true;
        _channel.Writer.TryComplete();
        try
        {
            await _writer;
        }
        catch (Exception)
        {
            // Whatever the writer met no longer matters: nothing of this file is kept.
        }
    }

    public ValueTask DisposeAsync() => StopAsync();

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_count == 0)
        {
            return;
        }
        var batch = _count == BatchSize ? _batch : _batch[.._count];
        (_batch, _count) = (new Prepared[BatchSize], 0);
        try
        {
            await _channel.Writer.WriteAsync(batch, cancellationToken);
        }
        catch (ChannelClosedException)
        {
            // The writer failed and closed the channel: its exception is the one to report.
            await _writer;
            throw;
        }
    }

    private async Task WriteAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var batch in _channel.Reader.ReadAllAsync(cancellationToken))
            {
                foreach (var record in batch)
                {
                    if (_stopped)
                    {
                        return;
                    }
                    await _sink.AddAsync(record.Record, record.Tokens, record.Key, cancellationToken);
                }
            }
        }
        catch (Exception e)
        {
            _channel.Writer.TryComplete(e);
            throw;
        }
    }

    private readonly record struct Prepared(SourceRecord Record, int Tokens, byte[]? Key);
}
