using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using AspireBatch.Simulator.Contracts;

namespace AspireBatch.Simulator.Services;

/// <summary>Lock-free counters of the /v1 API (Interlocked on plain fields), read as a <see cref="SimulatorStats"/> snapshot.</summary>
public sealed class SimulatorCounters(TimeProvider time)
{
    private const int MaxStatusCode = 600;

    private readonly long[] _statusCodes = new long[MaxStatusCode];
    private readonly long[] _faults = new long[Enum.GetValues<FaultKind>().Length];
    private readonly ConcurrentDictionary<string, StrongBox<long>> _corpusReplays = new(StringComparer.Ordinal);
    private long _totalRequests;
    private long _chatRequests;
    private long _embeddingRequests;
    private long _schemaViolations;
    private long _rateLimitedByRequests;
    private long _rateLimitedByTokens;
    private long _promptTokens;
    private long _completionTokens;
    private long _aborted;
    private long _batchesCreated;
    private long _batchLinesAnswered;
    private long _batchLinesFailed;
    private long _batchLinesExpired;
    private long _batchPromptTokens;
    private long _batchCompletionTokens;
    private long _inFlight;
    private long _maxInFlight;
    private long _sinceUtcTicks = time.GetUtcNow().UtcTicks;

    public void RequestStarted(bool chat, bool embeddings = false)
    {
        Interlocked.Increment(ref _totalRequests);
        if (chat)
        {
            Interlocked.Increment(ref _chatRequests);
        }
        if (embeddings)
        {
            Interlocked.Increment(ref _embeddingRequests);
        }
        var inFlight = Interlocked.Increment(ref _inFlight);
        var max = Volatile.Read(ref _maxInFlight);
        while (inFlight > max)
        {
            var seen = Interlocked.CompareExchange(ref _maxInFlight, inFlight, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    /// <summary>Ends a request: <paramref name="statusCode"/> is null when the connection was aborted without a response.</summary>
    public void RequestFinished(int? statusCode)
    {
        Interlocked.Decrement(ref _inFlight);
        if (statusCode is >= 0 and < MaxStatusCode)
        {
            Interlocked.Increment(ref _statusCodes[statusCode.Value]);
        }
        else
        {
            Interlocked.Increment(ref _aborted);
        }
    }

    public void RateLimited(RateLimitKind kind)
    {
        if (kind == RateLimitKind.Tokens)
        {
            Interlocked.Increment(ref _rateLimitedByTokens);
        }
        else
        {
            Interlocked.Increment(ref _rateLimitedByRequests);
        }
    }

    /// <summary>One answer drawn to break the request's JSON schema.</summary>
    public void SchemaViolation() => Interlocked.Increment(ref _schemaViolations);

    public void Fault(FaultKind kind) => Interlocked.Increment(ref _faults[(int)kind]);

    /// <summary>One replay of the corpus entry <paramref name="name"/>, asked by a marker or drawn by CorpusRate.</summary>
    public void CorpusReplayed(string name) =>
        Interlocked.Increment(ref _corpusReplays.GetOrAdd(name, static _ => new StrongBox<long>()).Value);

    public void TokensServed(int prompt, int completion)
    {
        Interlocked.Add(ref _promptTokens, prompt);
        Interlocked.Add(ref _completionTokens, completion);
    }

    public void BatchCreated() => Interlocked.Increment(ref _batchesCreated);

    /// <summary>One batch line answered with a 200 and the tokens its answer reports.</summary>
    public void BatchLineAnswered(int prompt, int completion)
    {
        Interlocked.Increment(ref _batchLinesAnswered);
        Interlocked.Add(ref _batchPromptTokens, prompt);
        Interlocked.Add(ref _batchCompletionTokens, completion);
    }

    public void BatchLineFailed() => Interlocked.Increment(ref _batchLinesFailed);

    public void BatchLinesExpired(int lines) => Interlocked.Add(ref _batchLinesExpired, lines);

    /// <summary>Zeroes every counter; requests in flight stay counted as in flight (and as the new maximum).</summary>
    public void Reset()
    {
        for (var i = 0; i < _statusCodes.Length; i++)
        {
            Interlocked.Exchange(ref _statusCodes[i], 0);
        }

        for (var i = 0; i < _faults.Length; i++)
        {
            Interlocked.Exchange(ref _faults[i], 0);
        }

        foreach (var count in _corpusReplays.Values)
        {
            Interlocked.Exchange(ref count.Value, 0);
        }

        Interlocked.Exchange(ref _totalRequests, 0);
        Interlocked.Exchange(ref _chatRequests, 0);
        Interlocked.Exchange(ref _embeddingRequests, 0);
        Interlocked.Exchange(ref _schemaViolations, 0);
        Interlocked.Exchange(ref _rateLimitedByRequests, 0);
        Interlocked.Exchange(ref _rateLimitedByTokens, 0);
        Interlocked.Exchange(ref _promptTokens, 0);
        Interlocked.Exchange(ref _completionTokens, 0);
        Interlocked.Exchange(ref _aborted, 0);
        Interlocked.Exchange(ref _batchesCreated, 0);
        Interlocked.Exchange(ref _batchLinesAnswered, 0);
        Interlocked.Exchange(ref _batchLinesFailed, 0);
        Interlocked.Exchange(ref _batchLinesExpired, 0);
        Interlocked.Exchange(ref _batchPromptTokens, 0);
        Interlocked.Exchange(ref _batchCompletionTokens, 0);
        Interlocked.Exchange(ref _maxInFlight, Volatile.Read(ref _inFlight));
        Interlocked.Exchange(ref _sinceUtcTicks, time.GetUtcNow().UtcTicks);
    }

    public SimulatorStats Snapshot()
    {
        var statusCodes = new SortedDictionary<int, long>();
        for (var code = 0; code < _statusCodes.Length; code++)
        {
            var count = Volatile.Read(ref _statusCodes[code]);
            if (count > 0)
            {
                statusCodes[code] = count;
            }
        }

        var corpusReplays = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, count) in _corpusReplays)
        {
            var replays = Volatile.Read(ref count.Value);
            if (replays > 0)
            {
                corpusReplays[name] = replays;
            }
        }

        var byRequests = Volatile.Read(ref _rateLimitedByRequests);
        var byTokens = Volatile.Read(ref _rateLimitedByTokens);
        return new SimulatorStats(
            TotalRequests: Volatile.Read(ref _totalRequests),
            StatusCodes: statusCodes,
            RateLimited: byRequests + byTokens,
            RateLimitedByRequests: byRequests,
            RateLimitedByTokens: byTokens,
            Faults: new FaultCounts(
                Error500: Count(FaultKind.Error500),
                Error503: Count(FaultKind.Error503),
                Timeout: Count(FaultKind.Timeout),
                Reset: Count(FaultKind.Reset),
                MalformedJson: Count(FaultKind.MalformedJson),
                Error429: Count(FaultKind.Error429),
                Corpus: Count(FaultKind.Corpus)),
            CorpusReplays: corpusReplays,
            PromptTokens: Volatile.Read(ref _promptTokens),
            CompletionTokens: Volatile.Read(ref _completionTokens),
            Aborted: Volatile.Read(ref _aborted),
            InFlight: Volatile.Read(ref _inFlight),
            MaxInFlight: Volatile.Read(ref _maxInFlight),
            Since: new DateTimeOffset(Interlocked.Read(ref _sinceUtcTicks), TimeSpan.Zero))
        {
            ChatRequests = Volatile.Read(ref _chatRequests),
            EmbeddingRequests = Volatile.Read(ref _embeddingRequests),
            SchemaViolations = Volatile.Read(ref _schemaViolations),
            Batches = new BatchCounts(
                Created: Volatile.Read(ref _batchesCreated),
                LinesAnswered: Volatile.Read(ref _batchLinesAnswered),
                LinesFailed: Volatile.Read(ref _batchLinesFailed),
                LinesExpired: Volatile.Read(ref _batchLinesExpired),
                PromptTokens: Volatile.Read(ref _batchPromptTokens),
                CompletionTokens: Volatile.Read(ref _batchCompletionTokens)),
        };
    }

    private long Count(FaultKind kind) => Volatile.Read(ref _faults[(int)kind]);
}
