using AspireBatch.Api.Services.Access;
using AspireBatch.Contracts;
using AspireBatch.Data;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AspireBatch.Api.Services;

/// <summary>Usage and cost measured from the attempt ledger: every call, its tokens, latency and charge.</summary>
public sealed class UsageQueries(NpgsqlDataSource dataSource, BatchDbContext db, JobQueries jobs, TimeProvider time, CallerAccess access)
{
    // A key that is not an admin key sees its own team's spend only.
    private const string TeamOnly = "(@team::text IS NULL OR job_id IN (SELECT id FROM jobs WHERE team = @team))";

    private const string Figures = """
        count(*)::bigint,
        count(*) FILTER (WHERE status_code IS NULL OR status_code >= 400)::bigint,
        coalesce(sum(input_tokens), 0)::bigint,
        coalesce(sum(output_tokens), 0)::bigint,
        coalesce(sum(cost_usd), 0)::numeric,
        coalesce(avg(latency_ms), 0)::float8,
        coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms), 0)::float8,
        count(*) FILTER (WHERE error_code = 'unknown')::bigint,
        coalesce(sum(possible_cost_usd), 0)::numeric,
        coalesce(sum(cost_usd) FILTER (WHERE usage_source = 'estimated'), 0)::numeric
        """;

    // Attempts that never reached a provider (our own failures, calls an open circuit held back) are left out of every figure, the job time series' too.
    internal const string SentOnly = "error_code IS DISTINCT FROM 'internal' AND error_code IS DISTINCT FROM 'circuit_open'";

    public async Task<OverviewDto> OverviewAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var team = access.TeamFilter;
        var running = await db.Jobs.AsNoTracking().Where(j => j.State == JobState.Running || j.State == JobState.Queued || j.State == JobState.Paused)
            .Where(j => team == null || j.Team == team)
            .OrderByDescending(j => j.CreatedAt).Take(50).ToListAsync(cancellationToken);
        var names = await db.Routes.AsNoTracking().ToDictionaryAsync(r => r.Id, r => r.Name, cancellationToken);
        var events = await db.RollbackEvents.AsNoTracking().OrderByDescending(e => e.Id).Take(10).ToListAsync(cancellationToken);
        return new OverviewDto(
            await jobs.ToDtosAsync(running, cancellationToken),
            await SummaryAsync(now.AddHours(-1), now, null, null, cancellationToken),
            await SummaryAsync(now.AddDays(-1), now, null, null, cancellationToken),
            events.Select(e => new RollbackEventDto(e.Id, e.RouteId, names.GetValueOrDefault(e.RouteId, "?"), e.FromPosition, e.ToPosition,
                e.FromTarget, e.ToTarget, e.Reason, e.Automatic, e.Figures, e.CreatedAt, e.Kind)).ToList());
    }

    /// <summary>The column to group by: provider, model, or mode (a line of a provider batch, or a real-time call).</summary>
    private static string KeyOf(string groupBy) => groupBy switch
    {
        "provider" => "provider_name",
        "mode" => $"CASE WHEN provider_batch_id IS NULL THEN '{JobModes.RealtimeName}' ELSE '{JobModes.ProviderBatchName}' END",
        _ => "model_name",
    };

    public async Task<List<UsageByKey>> ByKeyAsync(string groupBy, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken)
    {
        var key = KeyOf(groupBy);
        await using var command = dataSource.CreateCommand($"""
            SELECT {key}, {Figures} FROM attempts
            WHERE started_at >= @from AND started_at < @to AND {SentOnly} AND {TeamOnly} GROUP BY 1 ORDER BY 1
            """);
        command.Parameters.Add(new NpgsqlParameter<string?>("team", access.TeamFilter));
        command.Parameters.AddWithValue("from", from ?? DateTimeOffset.UnixEpoch);
        command.Parameters.AddWithValue("to", to ?? time.GetUtcNow().AddMinutes(1));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<UsageByKey>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new UsageByKey(reader.GetString(0), Read(reader, 1)));
        }
        return rows;
    }

    public async Task<List<UsageByDay>> DailyAsync(string groupBy, int days, CancellationToken cancellationToken)
    {
        var key = KeyOf(groupBy);
        await using var command = dataSource.CreateCommand($"""
            SELECT (started_at AT TIME ZONE 'UTC')::date, {key}, {Figures} FROM attempts
            WHERE started_at >= @from AND {SentOnly} AND {TeamOnly} GROUP BY 1, 2 ORDER BY 1, 2
            """);
        command.Parameters.Add(new NpgsqlParameter<string?>("team", access.TeamFilter));
        command.Parameters.AddWithValue("from", time.GetUtcNow().Date.AddDays(-days + 1));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<UsageByDay>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(new UsageByDay(DateOnly.FromDateTime(reader.GetDateTime(0)), reader.GetString(1), Read(reader, 2)));
        }
        return rows;
    }

    public async Task<ProviderComparison> CompareAsync(string before, string after, long monthlyCalls, CancellationToken cancellationToken)
    {
        var b = await TargetSummaryAsync(before, cancellationToken);
        var a = await TargetSummaryAsync(after, cancellationToken);
        var beforePerCall = b.Calls == 0 ? 0 : b.CostUsd / b.Calls;
        var afterPerCall = a.Calls == 0 ? 0 : a.CostUsd / a.Calls;
        return new ProviderComparison(before, after, b, a, beforePerCall, afterPerCall,
            beforePerCall * monthlyCalls, afterPerCall * monthlyCalls,
            beforePerCall == 0 ? 0 : (double)((afterPerCall - beforePerCall) / beforePerCall),
            b.MeanLatencyMs == 0 ? 0 : (a.MeanLatencyMs - b.MeanLatencyMs) / b.MeanLatencyMs,
            monthlyCalls);
    }

    private Task<UsageSummary> TargetSummaryAsync(string target, CancellationToken cancellationToken)
    {
        var slash = target.IndexOf('/');
        return SummaryAsync(DateTimeOffset.UnixEpoch, time.GetUtcNow().AddMinutes(1), target[..slash], target[(slash + 1)..], cancellationToken);
    }

    private async Task<UsageSummary> SummaryAsync(DateTimeOffset from, DateTimeOffset to, string? provider, string? model, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Figures} FROM attempts
            WHERE started_at >= @from AND started_at < @to AND {SentOnly} AND {TeamOnly}
              AND (@provider::text IS NULL OR provider_name = @provider) AND (@model::text IS NULL OR model_name = @model)
            """);
        command.Parameters.Add(new NpgsqlParameter<string?>("team", access.TeamFilter));
        command.Parameters.AddWithValue("from", from);
        command.Parameters.AddWithValue("to", to);
        command.Parameters.Add(new NpgsqlParameter<string?>("provider", provider));
        command.Parameters.Add(new NpgsqlParameter<string?>("model", model));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return Read(reader, 0);
    }

    private static UsageSummary Read(NpgsqlDataReader r, int o) =>
        new(r.GetInt64(o), r.GetInt64(o + 1), r.GetInt64(o + 2), r.GetInt64(o + 3), r.GetDecimal(o + 4), r.GetDouble(o + 5), r.GetDouble(o + 6),
            r.GetInt64(o + 7), r.GetDecimal(o + 8), r.GetDecimal(o + 9));
}
