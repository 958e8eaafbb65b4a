namespace AspireBatch.Simulator.Services;

public enum RateLimitKind
{
    None,
    Requests,
    Tokens,
}

/// <summary>
/// Outcome of <see cref="RateLimiter.TryAcquire"/>. Remaining counts are -1 for a limit that is off. The resets are the
/// time until that limit's window frees capacity: on a 429 of that limit the wait asked; otherwise until the oldest entry
/// of its window leaves (zero for an empty window or a limit that is off).
/// </summary>
public readonly record struct RateDecision(
    RateLimitKind RejectedBy, TimeSpan RetryAfter, int RemainingRequests, int RemainingTokens, TimeSpan ResetRequests = default, TimeSpan ResetTokens = default)
{
    public bool Allowed => RejectedBy == RateLimitKind.None;
}

/// <summary>
/// Requests-per-minute and tokens-per-minute limits over an exact sliding 60 s window (a log of admitted requests).
/// A request is admitted when the requests admitted in the last 60 s are fewer than the limit and their tokens plus
/// its own fit the token limit; entries exactly 60 s old have left the window, so requests arriving evenly at the
/// configured rate are all admitted. Rejected requests are not recorded (a 429 consumes no capacity). Only limits that
/// are on keep a log: a limit switched on at run time starts with an empty window.
/// </summary>
public sealed class RateLimiter(TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Queue<long> _requests = new();
    private readonly Queue<(long At, int Tokens)> _tokens = new();
    private readonly long _window = (long)(60 * time.TimestampFrequency);
    private long _tokensInWindow;

    public RateDecision TryAcquire(int requestsPerMinute, int tokensPerMinute, int tokens)
    {
        if (requestsPerMinute <= 0 && tokensPerMinute <= 0)
        {
            return new RateDecision(RateLimitKind.None, TimeSpan.Zero, -1, -1);
        }

        var now = time.GetTimestamp();
        lock (_gate)
        {
            Evict(now);

            if (requestsPerMinute > 0 && _requests.Count >= requestsPerMinute)
            {
                // Trim a log left longer than a lowered limit: the oldest entries that keep it at the limit decide.
                while (_requests.Count > requestsPerMinute)
                {
                    _requests.Dequeue();
                }

                var wait = _requests.Peek() + _window - now;
                return Reject(RateLimitKind.Requests, wait, requestsPerMinute, tokensPerMinute, wait, OldestTokensLeave(now, tokensPerMinute));
            }

            if (tokensPerMinute > 0 && _tokensInWindow + tokens > tokensPerMinute)
            {
                var wait = TokenWait(now, tokens, tokensPerMinute);
                return Reject(RateLimitKind.Tokens, wait, requestsPerMinute, tokensPerMinute, OldestRequestLeaves(now, requestsPerMinute), wait);
            }

            if (requestsPerMinute > 0)
            {
                _requests.Enqueue(now);
            }

            if (tokensPerMinute > 0)
            {
                _tokens.Enqueue((now, tokens));
                _tokensInWindow += tokens;
            }

            return new RateDecision(
                RateLimitKind.None, TimeSpan.Zero, Remaining(requestsPerMinute, _requests.Count), Remaining(tokensPerMinute, _tokensInWindow),
                ToTimeSpan(OldestRequestLeaves(now, requestsPerMinute)), ToTimeSpan(OldestTokensLeave(now, tokensPerMinute)));
        }
    }

    public void Reset()
    {
        lock (_gate)
        {
            _requests.Clear();
            _tokens.Clear();
            _tokensInWindow = 0;
        }
    }

    private RateDecision Reject(RateLimitKind kind, long waitTicks, int requestsPerMinute, int tokensPerMinute, long resetRequests, long resetTokens) =>
        new(kind, ToTimeSpan(Math.Max(waitTicks, 1)),
            Remaining(requestsPerMinute, _requests.Count), Remaining(tokensPerMinute, _tokensInWindow),
            ToTimeSpan(kind == RateLimitKind.Requests ? Math.Max(resetRequests, 1) : resetRequests),
            ToTimeSpan(kind == RateLimitKind.Tokens ? Math.Max(resetTokens, 1) : resetTokens));

    private long OldestRequestLeaves(long now, int requestsPerMinute) =>
        requestsPerMinute > 0 && _requests.Count > 0 ? _requests.Peek() + _window - now : 0;

    private long OldestTokensLeave(long now, int tokensPerMinute) =>
        tokensPerMinute > 0 && _tokens.Count > 0 ? _tokens.Peek().At + _window - now : 0;

    private TimeSpan ToTimeSpan(long ticks) => TimeSpan.FromSeconds(Math.Max(ticks, 0) / (double)time.TimestampFrequency);

    private long TokenWait(long now, int tokens, int tokensPerMinute)
    {
        if (tokens > tokensPerMinute)
        {
            return _window; // Never fits; like OpenAI, still a 429. A full window is the honest hint.
        }

        var inWindow = _tokensInWindow;
        foreach (var (at, spent) in _tokens)
        {
            inWindow -= spent;
            if (inWindow + tokens <= tokensPerMinute)
            {
                return at + _window - now;
            }
        }

        return _window;
    }

    private void Evict(long now)
    {
        var horizon = now - _window;
        while (_requests.Count > 0 && _requests.Peek() <= horizon)
        {
            _requests.Dequeue();
        }

        while (_tokens.Count > 0 && _tokens.Peek().At <= horizon)
        {
            _tokensInWindow -= _tokens.Dequeue().Tokens;
        }
    }

    private static int Remaining(int limit, long used) => limit <= 0 ? -1 : (int)Math.Max(0, limit - used);
}
