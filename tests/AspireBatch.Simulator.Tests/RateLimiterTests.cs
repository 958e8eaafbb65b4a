using AspireBatch.Simulator.Services;

namespace AspireBatch.Simulator.Tests;

public sealed class RateLimiterTests
{
    private sealed class ManualTime : TimeProvider
    {
        public long Ticks { get; set; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Ticks;

        public void Advance(TimeSpan by) => Ticks += by.Ticks;
    }

    [Fact]
    public void Evenly_spaced_requests_at_the_limit_are_all_admitted()
    {
        var time = new ManualTime();
        var limiter = new RateLimiter(time);

        for (var i = 0; i < 5 * 60; i++) // five minutes at exactly 60 RPM
        {
            Assert.True(limiter.TryAcquire(60, 0, 10).Allowed, $"request {i}");
            time.Advance(TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public void Over_the_limit_is_rejected_with_the_wait_until_the_oldest_leaves_and_consumes_nothing()
    {
        var time = new ManualTime();
        var limiter = new RateLimiter(time);
        Assert.True(limiter.TryAcquire(2, 0, 1).Allowed);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(limiter.TryAcquire(2, 0, 1).Allowed);

        for (var i = 0; i < 10; i++)
        {
            var rejected = limiter.TryAcquire(2, 0, 1);
            Assert.Equal(RateLimitKind.Requests, rejected.RejectedBy);
            Assert.Equal(TimeSpan.FromSeconds(50), rejected.RetryAfter);
            Assert.Equal(0, rejected.RemainingRequests);
        }

        time.Advance(TimeSpan.FromSeconds(50));
        var admitted = limiter.TryAcquire(2, 0, 1);
        Assert.True(admitted.Allowed); // the rejected ten did not take capacity
        Assert.Equal(0, admitted.RemainingRequests);
    }

    [Fact]
    public void Token_limit_counts_tokens_and_waits_until_enough_have_left()
    {
        var time = new ManualTime();
        var limiter = new RateLimiter(time);
        Assert.True(limiter.TryAcquire(0, 100, 60).Allowed);
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.True(limiter.TryAcquire(0, 100, 30).Allowed);

        var rejected = limiter.TryAcquire(0, 100, 20);

        Assert.Equal(RateLimitKind.Tokens, rejected.RejectedBy);
        Assert.Equal(TimeSpan.FromSeconds(40), rejected.RetryAfter);
        Assert.Equal(10, rejected.RemainingTokens);
        Assert.True(limiter.TryAcquire(0, 100, 10).Allowed);
    }

    [Fact]
    public void Resets_say_when_each_window_frees_capacity()
    {
        var time = new ManualTime();
        var limiter = new RateLimiter(time);

        var first = limiter.TryAcquire(2, 100, 60);
        Assert.Equal(TimeSpan.FromSeconds(60), first.ResetRequests);
        Assert.Equal(TimeSpan.FromSeconds(60), first.ResetTokens);

        time.Advance(TimeSpan.FromSeconds(20));
        var second = limiter.TryAcquire(2, 100, 30);
        Assert.Equal(TimeSpan.FromSeconds(40), second.ResetRequests); // the oldest leaves first
        Assert.Equal(TimeSpan.FromSeconds(40), second.ResetTokens);

        time.Advance(TimeSpan.FromSeconds(10));
        var byRequests = limiter.TryAcquire(2, 100, 5);
        Assert.Equal(RateLimitKind.Requests, byRequests.RejectedBy);
        Assert.Equal(byRequests.RetryAfter, byRequests.ResetRequests);
        Assert.Equal(TimeSpan.FromSeconds(30), byRequests.ResetTokens);

        var off = limiter.TryAcquire(0, 0, 5);
        Assert.Equal(TimeSpan.Zero, off.ResetRequests);
        Assert.Equal(TimeSpan.Zero, off.ResetTokens);
    }

    [Fact]
    public void A_token_429_resets_when_the_request_would_fit()
    {
        var time = new ManualTime();
        var limiter = new RateLimiter(time);
        Assert.True(limiter.TryAcquire(0, 100, 60).Allowed);
        time.Advance(TimeSpan.FromSeconds(20));
        Assert.True(limiter.TryAcquire(0, 100, 30).Allowed);

        var rejected = limiter.TryAcquire(0, 100, 20);

        Assert.Equal(TimeSpan.FromSeconds(40), rejected.ResetTokens);
        Assert.Equal(rejected.RetryAfter, rejected.ResetTokens);
    }

    [Fact]
    public void Reset_empties_the_windows()
    {
        var limiter = new RateLimiter(new ManualTime());
        Assert.True(limiter.TryAcquire(1, 0, 1).Allowed);
        Assert.False(limiter.TryAcquire(1, 0, 1).Allowed);

        limiter.Reset();

        Assert.True(limiter.TryAcquire(1, 0, 1).Allowed);
    }
}
