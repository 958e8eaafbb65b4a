using System.Collections.Concurrent;
using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Data.Live;
using AspireBatch.Worker.Execution;
using StackExchange.Redis;

namespace AspireBatch.Worker.Limits;

/// <summary>
/// Limits learned for a provider's model that has no configured one, shared by every worker through the Redis hash
/// <see cref="LearnedLimitDto.RedisKey"/> (a field per model) and kept in memory, read again at most every 2 s and
/// written only when the figure changes (or, once a minute, to say it still holds). Every Redis command rides on the
/// round trip that records the call's outcome; when Redis is away the figure in memory stands.
/// <list type="bullet">
/// <item>From headers: the per-minute limits the provider states (<see cref="ProviderRateHeaders.RequestsPerMinute"/>).
/// An answer without them (on success) forgets a limit learned from headers: the provider no longer states one.</item>
/// <item>From 429s, when the provider states no limit: after 429s for a minute in a row (at least 20, none 10 s apart),
/// the limit becomes the rate of successful calls over the last minute, as every worker fed the target's window;
/// another minute of 429s lowers it again (to 90 % when the measured rate is no lower). It is not raised: it lapses
/// after <see cref="LearnedLimitDto.Lifetime"/>, and a provider still refusing will teach it again. Shorter runs of 429s
/// (a busy provider) only get their Retry-After.</item>
/// </list>
/// </summary>
public sealed class LearnedLimits(IConnectionMultiplexer redis, TargetWindow window, TimeProvider time, ILogger logger)
{
    /// <summary>How long the copy in memory is trusted before Redis is asked again (with the next call's outcome).</summary>
    public static readonly TimeSpan ReadEvery = TimeSpan.FromSeconds(2);

    /// <summary>How often a limit the provider keeps stating is written again, so it does not lapse.</summary>
    public static readonly TimeSpan ConfirmEvery = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan EpisodeGap = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan EpisodeLength = TimeSpan.FromSeconds(60);
    private const int EpisodeCalls = 20;

    private readonly ConcurrentDictionary<(Guid Provider, string Model), Entry> _entries = new();

    /// <summary>The GCRA key a learned limit paces calls with.</summary>
    public static string PaceKey(string kind, CallTarget target) => $"aspirebatch:learned-{kind}:{target.ProviderId:N}:{target.Model}";

    /// <summary>The learned limit for the target as this worker knows it; null when there is none or it lapsed.</summary>
    public LearnedLimitDto? Current(CallTarget target) =>
        _entries.TryGetValue((target.ProviderId, target.Model), out var entry) && entry.Limit is { } limit && Live(limit) ? limit : null;

    /// <summary>What one call's answer means for the learned limit, decided in memory.</summary>
    /// <param name="Fresh">The first figure this worker learned for the target: it may have to pay for the unpaced calls.</param>
    public sealed record Plan(
        LearnedLimitDto? Write, bool Fresh, bool Delete, bool Read, TimeSpan? SeedRequests, TimeSpan? SeedTokens, bool LearnFrom429);

    /// <param name="rpmConfigured">The provider or the model has a configured RPM: it wins, nothing is learned for it.</param>
    public Plan Observe(CallTarget target, bool rpmConfigured, bool tpmConfigured, CallResult? result)
    {
        var now = time.GetUtcNow();
        var entry = _entries.GetOrAdd((target.ProviderId, target.Model), _ => new Entry());
        var headers = result?.RateHeaders;
        var rpm = rpmConfigured ? null : headers?.RequestsPerMinute;
        var tpm = tpmConfigured ? null : headers?.TokensPerMinute;
        lock (entry)
        {
            var known = entry.Limit is { } k && Live(k) ? k : null;
            LearnedLimitDto? write = null;
            var delete = false;
            var learn429 = false;
            var fresh = false;
            if (rpm is not null || tpm is not null)
            {
                if (known is null || known.Source != LearnedLimitDto.FromHeaders || known.RequestsPerMinute != rpm || known.TokensPerMinute != tpm)
                {
                    write = new LearnedLimitDto(target.Model, rpm, tpm, LearnedLimitDto.FromHeaders, now, now);
                    fresh = !entry.EverLearned;
                    logger.LogInformation("{Provider}/{Model} states its limits: {Rpm} requests/min, {Tpm} tokens/min; pacing to them",
                        target.ProviderName, target.Model, rpm?.ToString() ?? "no", tpm?.ToString() ?? "no");
                }
                else if (now - known.SeenAt >= ConfirmEvery && now - entry.WrittenAt >= ConfirmEvery)
                {
                    write = known with { SeenAt = now };
                }
                entry.Episode = default;
            }
            else if (headers?.RequestsLimit is null && result is { Succeeded: true } && known is { Source: LearnedLimitDto.FromHeaders })
            {
                delete = true;
                logger.LogInformation("{Provider}/{Model} no longer states a limit: forgetting the learned one", target.ProviderName, target.Model);
            }
            else if (result?.StatusCode == 429 && !rpmConfigured && headers?.RequestsPerMinute is null)
            {
                var episode = entry.Episode;
                episode = episode.Calls == 0 || now - episode.Last > EpisodeGap ? new Episode(now, now, 1) : episode with { Last = now, Calls = episode.Calls + 1 };
                if (episode.Calls >= EpisodeCalls && now - episode.First >= EpisodeLength && !entry.Learning)
                {
                    learn429 = true;
                    entry.Learning = true;
                    episode = default;
                }
                entry.Episode = episode;
            }
            if (write is not null)
            {
                entry.Limit = write;
                entry.WrittenAt = now;
                entry.EverLearned = true;
            }
            else if (delete)
            {
                entry.Limit = null;
            }
            var read = now - entry.ReadAt >= ReadEvery;
            if (read)
            {
                entry.ReadAt = now;
            }
            TimeSpan? seedRequests = null, seedTokens = null;
            if (entry.SeedFrom is { } from && now - from < ProviderRateHeaders.MinuteWindow && headers is not null)
            {
                // The provider's window holds limit - remaining calls since about SeedFrom; the schedule may not
                // run ahead of them, or the minute's end would bring 429s when the unpaced calls are still counted.
                if (rpm is { } r && headers.RequestsRemaining is { } left)
                {
                    seedRequests = from - now + TimeSpan.FromMicroseconds(Math.Max(0, r - left) * SharedRateLimiter.IntervalMicros(r));
                }
                if (tpm is { } t && headers.TokensRemaining is { } tokensLeft)
                {
                    seedTokens = from - now + TimeSpan.FromMicroseconds(Math.Max(0, t - tokensLeft) * SharedRateLimiter.IntervalMicros(t));
                }
            }
            return new Plan(write, fresh, delete, read || fresh, seedRequests, seedTokens, learn429);
        }
    }

    /// <summary>Queues the plan's commands on <paramref name="batch"/> (before its first await) and applies what Redis says.</summary>
    public async Task SyncAsync(IBatch batch, CallTarget target, Plan plan)
    {
        var key = LearnedLimitDto.RedisKey(target.ProviderId);
        var tasks = new List<Task>(3);
        // Nobody paced on the learned limits in the last minute or more: the calls so far went out unpaced.
        var pacedBefore = plan.Fresh ? batch.KeyExistsAsync([PaceKey("rpm", target), PaceKey("tpm", target)]) : null;
        if (plan.Write is { } write)
        {
            tasks.Add(batch.HashSetAsync(key, target.Model, JsonSerializer.Serialize(write)));
            tasks.Add(batch.KeyExpireAsync(key, LearnedLimitDto.Lifetime));
        }
        else if (plan.Delete)
        {
            tasks.Add(batch.HashDeleteAsync(key, target.Model));
        }
        var read = plan.Read ? batch.HashGetAsync(key, target.Model) : null;
        try
        {
            await Task.WhenAll(tasks);
            if (pacedBefore is not null && await pacedBefore == 0)
            {
                var entry = _entries.GetOrAdd((target.ProviderId, target.Model), _ => new Entry());
                lock (entry)
                {
                    // Their share of the provider's window is paid for with the next answers' figures.
                    entry.SeedFrom = plan.Write!.LearnedAt;
                }
            }
            if (read is not null)
            {
                Apply(target, await read);
            }
        }
        catch (RedisException e)
        {
            // The figure in memory stands until Redis is back.
            logger.LogDebug(e, "Could not share the learned limit of {Provider}/{Model}", target.ProviderName, target.Model);
        }
    }

    /// <summary>A sustained run of 429s without stated limits: the limit becomes the rate that got through.</summary>
    public async Task LearnFrom429Async(CallTarget target)
    {
        var entry = _entries.GetOrAdd((target.ProviderId, target.Model), _ => new Entry());
        try
        {
            const int seconds = 60;
            var figures = await window.ReadAsync(target.ProviderId, target.Model, seconds);
            var now = time.GetUtcNow();
            // The window's buckets are aligned to 10 s: its span runs from the first bucket's start until now.
            var first = now.ToUnixTimeSeconds() / TargetWindow.BucketSeconds - seconds / TargetWindow.BucketSeconds + 1;
            var span = Math.Max(1, now.ToUnixTimeMilliseconds() / 1000.0 - first * TargetWindow.BucketSeconds);
            var achieved = (int)Math.Floor((figures.Calls - figures.Errors) / span * 60);
            LearnedLimitDto learned;
            lock (entry)
            {
                var known = entry.Limit is { } k && Live(k) ? k : null;
                if (known is { Source: LearnedLimitDto.FromHeaders })
                {
                    return;
                }
                var rpm = known?.RequestsPerMinute is { } old && achieved >= old ? (int)(old * 0.9) : achieved;
                learned = new LearnedLimitDto(target.Model, Math.Max(1, rpm), null, LearnedLimitDto.From429, now, now);
                entry.Limit = learned;
                entry.WrittenAt = now;
                entry.EverLearned = true;
            }
            logger.LogWarning("{Provider}/{Model} answered 429 for {Seconds} s without stating a limit: pacing to {Rpm} requests/min, the rate that got through",
                target.ProviderName, target.Model, (int)EpisodeLength.TotalSeconds, learned.RequestsPerMinute);
            var database = redis.GetDatabase();
            var key = LearnedLimitDto.RedisKey(target.ProviderId);
            await database.HashSetAsync(key, target.Model, JsonSerializer.Serialize(learned));
            await database.KeyExpireAsync(key, LearnedLimitDto.Lifetime);
        }
        catch (RedisException e)
        {
            logger.LogDebug(e, "Could not share the limit learned from 429s of {Provider}/{Model}", target.ProviderName, target.Model);
        }
        finally
        {
            lock (entry)
            {
                entry.Learning = false;
            }
        }
    }

    private void Apply(CallTarget target, RedisValue value)
    {
        LearnedLimitDto? shared = null;
        if (value.HasValue)
        {
            try
            {
                shared = JsonSerializer.Deserialize<LearnedLimitDto>(value.ToString());
            }
            catch (JsonException)
            {
                // Written by another version: what this worker knows stands.
                return;
            }
        }
        var entry = _entries.GetOrAdd((target.ProviderId, target.Model), _ => new Entry());
        lock (entry)
        {
            // A figure this worker wrote after the read left is newer than what the read brought back.
            if (entry.Limit is { } mine && (shared is null ? mine.LearnedAt > time.GetUtcNow() - ReadEvery : mine.LearnedAt > shared.LearnedAt))
            {
                return;
            }
            entry.Limit = shared;
            entry.EverLearned |= shared is not null;
        }
    }

    private bool Live(LearnedLimitDto limit) => time.GetUtcNow() - limit.SeenAt < LearnedLimitDto.Lifetime;

    private readonly record struct Episode(DateTimeOffset First, DateTimeOffset Last, int Calls);

    private sealed class Entry
    {
        public volatile LearnedLimitDto? Limit;
        public DateTimeOffset ReadAt;
        public DateTimeOffset WrittenAt;
        public DateTimeOffset? SeedFrom;
        public Episode Episode;
        public bool Learning;
        public bool EverLearned;
    }
}
