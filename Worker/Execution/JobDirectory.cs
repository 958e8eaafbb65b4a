using AspireBatch.Worker.Limits;
using AspireBatch.Contracts;
using AspireBatch.Data.Domain;
using AspireBatch.Data.Lifecycle;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AspireBatch.Worker.Execution;

/// <summary>A running job as the Worker needs it: where its calls go and how its items become requests.</summary>
public sealed record RunningJob(Guid Id, Guid? RouteId, Guid? ProviderId, string? ModelName, ProviderRequestBuilder Requests, string? TraceParent,
    int? RequestsPerMinuteCap = null, int? MaxTokens = null, JobEndpoint Endpoint = JobEndpoint.ChatCompletions,
    JobMode Mode = JobMode.Realtime, DateTimeOffset? Deadline = null)
{
    /// <summary>Built once per job (kept with its request builder), not per answer.</summary>
    public JobSchemas Schemas { get; init; } = new();
}

/// <summary>
/// The jobs workers may take items from, refreshed about every second. A job that leaves this set (paused,
/// cancelled) gets no new calls; items waiting to retry are released.
/// </summary>
public sealed class JobDirectory(NpgsqlDataSource dataSource, JobLifecycle lifecycle, LiveLimits limits, IOptions<WorkerOptions> options, TimeProvider time)
{
    private IReadOnlyDictionary<Guid, RunningJob> _running = new Dictionary<Guid, RunningJob>();
    private IReadOnlyDictionary<Guid, JobState> _states = new Dictionary<Guid, JobState>();
    private DateTimeOffset _loadedAt = DateTimeOffset.MinValue;

    /// <summary>A job was created or changed (announced on Redis): look again at the next turn instead of within a second.</summary>
    public void MarkStale() => _loadedAt = DateTimeOffset.MinValue;

    public IReadOnlyCollection<RunningJob> Running => _running.Values.ToList();

    public bool IsRunning(Guid jobId) => _running.ContainsKey(jobId);

    public JobState? StateOf(Guid jobId) => _states.TryGetValue(jobId, out var state) ? state : null;

    public RunningJob? Get(Guid jobId) => _running.GetValueOrDefault(jobId);

    /// <summary>Stops this worker's calls for a job at once, before the database says so to everyone.</summary>
    public void Halt(Guid jobId, JobState state)
    {
        _running = _running.Where(j => j.Key != jobId).ToDictionary();
        _states = new Dictionary<Guid, JobState>(_states) { [jobId] = state };
    }

    public async Task RefreshAsync(bool force, CancellationToken cancellationToken)
    {
        if (!force && time.GetUtcNow() - _loadedAt < TimeSpan.FromMilliseconds(options.Value.JobRefreshMilliseconds))
        {
            return;
        }
        // A job whose records were all answered at import (by the response cache) has nothing to claim: it completes on start.
        if (await lifecycle.StartQueuedAsync(cancellationToken) is { Count: > 0 } started)
        {
            await lifecycle.SettleAsync([.. started], cancellationToken);
        }
        // Paused jobs are listed so their waiting retries are released; recently cancelled ones so their calls stop.
        await using var command = dataSource.CreateCommand("""
            SELECT id, state, route_id, provider_id, model_name, input_format, system_template, user_template, temperature,
                   max_tokens, response_format::text, trace_parent, requests_per_minute_cap, endpoint, dimensions, mode, deadline
            FROM jobs WHERE state IN (@running, @paused) OR (state = @cancelled AND cancelled_at > now() - interval '10 minutes')
            """);
        command.Parameters.AddWithValue("running", (int)JobState.Running);
        command.Parameters.AddWithValue("paused", (int)JobState.Paused);
        command.Parameters.AddWithValue("cancelled", (int)JobState.Cancelled);
        var running = new Dictionary<Guid, RunningJob>();
        var states = new Dictionary<Guid, JobState>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetGuid(0);
            var state = (JobState)reader.GetInt32(1);
            states[id] = state;
            if (state != JobState.Running)
            {
                continue;
            }
            var cap = reader.IsDBNull(12) ? (int?)null : reader.GetInt32(12);
            var endpoint = (JobEndpoint)reader.GetInt32(13);
            // The request builder is kept while the target stays (a move of the leftovers changes it); the rate cap is
            // read every time and handed to LiveLimits, so a change takes effect within a second, also for calls waiting.
            var existing = _running.GetValueOrDefault(id);
            if (existing is not null && (existing.RouteId != (reader.IsDBNull(2) ? null : reader.GetGuid(2))
                || existing.ProviderId != (reader.IsDBNull(3) ? null : reader.GetGuid(3)) || existing.ModelName != (reader.IsDBNull(4) ? null : reader.GetString(4))))
            {
                existing = null;
            }
            var mode = (JobMode)reader.GetInt32(15);
            DateTimeOffset? deadline = reader.IsDBNull(16) ? null : reader.GetFieldValue<DateTimeOffset>(16);
            running[id] = existing is not null ? existing with { RequestsPerMinuteCap = cap, Mode = mode, Deadline = deadline } : new RunningJob(id,
                reader.IsDBNull(2) ? null : reader.GetGuid(2),
                reader.IsDBNull(3) ? null : reader.GetGuid(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                new ProviderRequestBuilder(new JobRequestSettings(
                    (JobInputFormat)reader.GetInt32(5),
                    reader.IsDBNull(6) ? null : reader.GetString(6),
                    reader.IsDBNull(7) ? null : reader.GetString(7),
                    reader.IsDBNull(8) ? null : reader.GetDouble(8),
                    reader.IsDBNull(9) ? null : reader.GetInt32(9),
                    reader.IsDBNull(10) ? null : reader.GetString(10),
                    endpoint,
                    reader.IsDBNull(14) ? null : reader.GetInt32(14))),
                reader.IsDBNull(11) ? null : reader.GetString(11),
                cap,
                reader.IsDBNull(9) ? null : reader.GetInt32(9),
                endpoint, mode, deadline);
        }
        _running = running;
        _states = states;
        limits.SetJobs(running);
        _loadedAt = time.GetUtcNow();
    }
}
