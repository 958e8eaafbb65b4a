using AspireBatch.Api.Services.Access;
using System.Diagnostics;
using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Entities;
using AspireBatch.Data.Lifecycle;
using AspireBatch.Data.Live;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace AspireBatch.Api.Services.Rehearsals;

public abstract record RehearsalPlan;

public sealed record RehearsalStarted(Guid Id) : RehearsalPlan;

/// <summary>The request was refused; nothing was stored. <c>Field</c> names the part of the request at fault.</summary>
public sealed record RehearsalRefused(string Field, string Message) : RehearsalPlan;

/// <summary>
/// Starts a rehearsal: checks the request, draws the sample from the source job, and in one transaction stores the
/// rehearsal and one queued job per target holding copies of the sampled records. The Worker runs those jobs like any
/// other; the comparison is read from their ledgers (<see cref="RehearsalReports"/>).
/// </summary>
public sealed class RehearsalPlanner(BatchDbContext db, NpgsqlDataSource dataSource, LivePublisher live, TimeProvider time, CallerAccess access)
{
    public const int MaxSampleSize = 100_000;
    private const string SampleTable = "rehearsal_sample";

    private sealed record Target(int Position, string Label, bool IsBaseline, JobTarget Job, decimal InputPrice, decimal OutputPrice);

    /// <summary>Why the request would be refused (its sample, targets and judge; not its source), or null.</summary>
    public async Task<RehearsalRefused?> CheckAsync(RehearsalRequest request, CancellationToken cancellationToken) =>
        (await ValidateAsync(request, cancellationToken)).Refused;

    public async Task<RehearsalPlan> StartAsync(RehearsalRequest request, CancellationToken cancellationToken)
    {
        if (request.SourceJobId is null)
        {
            return new RehearsalRefused("sourceJobId", "name the job whose records are rehearsed, or upload a file to /api/rehearsals/upload");
        }
        var (targets, refused) = await ValidateAsync(request, cancellationToken);
        if (refused is not null)
        {
            return refused;
        }
        var source = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == request.SourceJobId, cancellationToken);
        // Another team's job does not exist for this caller.
        source = source is not null && access.Sees(source.Team) ? source : null;
        if (source is null)
        {
            return new RehearsalRefused("sourceJobId", $"job {request.SourceJobId} does not exist");
        }
        if (source.RehearsalId is not null)
        {
            return new RehearsalRefused("sourceJobId", "a rehearsal's own job cannot be the source of another rehearsal; use the job it sampled");
        }

        var id = Guid.CreateVersion7();
        var now = time.GetUtcNow();
        var judge = request.Judge ?? new JudgeRequest();
        var perTargetBudget = request.BudgetUsd is { } cap ? Math.Round(cap / targets.Count, 10) : (decimal?)null;
        var rehearsal = new Rehearsal
        {
            Id = id,
            Name = request.Name,
            SourceJobId = source.Id,
            SampleStrategy = request.Sample.Strategy,
            SampleSize = request.Sample.Size,
            Seed = request.Sample.Seed,
            StratifyField = request.Sample.Field,
            Judge = judge.Kind,
            JudgeFields = judge.Fields is { Count: > 0 } fields ? string.Join(",", fields) : null,
            JudgePattern = judge.Pattern,
            BudgetUsd = request.BudgetUsd,
            MonthlyRecords = request.MonthlyRecords,
            CreatedAt = now,
        };

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        rehearsal.SampledItems = await DrawSampleAsync(connection, source.Id, request.Sample, cancellationToken);
        if (rehearsal.SampledItems == 0)
        {
            return new RehearsalRefused("sourceJobId", "the source job has no records to sample");
        }
        await InsertRehearsalAsync(connection, rehearsal, cancellationToken);
        var name = request.Name ?? source.Name ?? $"job {source.Id:N}"[..12];
        var jobIds = new List<Guid>();
        foreach (var target in targets)
        {
            var jobId = Guid.CreateVersion7();
            jobIds.Add(jobId);
            await JobLifecycle.CreateRehearsalJobAsync(connection, new RehearsalJob(jobId, id, source.Id, $"rehearsal {name}: {target.Label}", target.Job,
                perTargetBudget, target.InputPrice, target.OutputPrice, Activity.Current?.Id, now), SampleTable, cancellationToken);
            await InsertTargetAsync(connection, id, target, jobId, cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        foreach (var jobId in jobIds)
        {
            await live.JobChangedAsync(jobId);
        }
        return new RehearsalStarted(id);
    }

    /// <summary>The baseline: the target marked so, or the first when none is.</summary>
    private static int BaselineIndex(IReadOnlyList<RehearsalTargetRequest> targets)
    {
        for (var i = 0; i < targets.Count; i++)
        {
            if (targets[i].Baseline)
            {
                return i;
            }
        }
        return 0;
    }

    private async Task<(List<Target> Targets, RehearsalRefused? Refused)> ValidateAsync(RehearsalRequest request, CancellationToken cancellationToken)
    {
        if (Check(request) is { } refused)
        {
            return ([], refused);
        }
        var targets = new List<Target>();
        var baseline = BaselineIndex(request.Targets);
        for (var i = 0; i < request.Targets.Count; i++)
        {
            var (target, error) = await ResolveAsync(request.Targets[i], i, i == baseline, cancellationToken);
            if (error is not null)
            {
                return ([], new RehearsalRefused($"targets[{i}]", error));
            }
            targets.Add(target!);
        }
        if (targets.GroupBy(t => t.Label).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            return ([], new RehearsalRefused("targets", $"{twice.Key} is named twice; each target runs once"));
        }
        return (targets, null);
    }

    private static RehearsalRefused? Check(RehearsalRequest request)
    {
        if (request.Sample is null || request.Sample.Size is < 1 or > MaxSampleSize)
        {
            return new("sample.size", $"the sample holds 1 to {MaxSampleSize:N0} records");
        }
        if (!Enum.IsDefined(request.Sample.Strategy))
        {
            return new("sample.strategy", "the strategy is random, first or stratified");
        }
        if (request.Sample.Strategy == SampleStrategy.Stratified && string.IsNullOrWhiteSpace(request.Sample.Field))
        {
            return new("sample.field", "a stratified sample needs the field whose values it keeps in proportion");
        }
        if (request.Targets is not { Count: >= 2 and <= 5 })
        {
            return new("targets", "a rehearsal compares 2 to 5 targets");
        }
        if (request.Targets.Count(t => t.Baseline) > 1)
        {
            return new("targets", "only one target can be the baseline");
        }
        if (request.BudgetUsd is <= 0)
        {
            return new("budgetUsd", "the budget cap must be more than 0");
        }
        if (request.MonthlyRecords is < 0)
        {
            return new("monthlyRecords", "the monthly volume cannot be negative");
        }
        var judge = request.Judge ?? new JudgeRequest();
        if (!Enum.IsDefined(judge.Kind))
        {
            return new("judge.kind", "the judge is none, exact, normalized, jsonFields or label");
        }
        AnswerJudge.Create(judge, out var judgeError);
        return judgeError is null ? null : new("judge", judgeError);
    }

    private async Task<(Target?, string?)> ResolveAsync(RehearsalTargetRequest request, int position, bool baseline, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(request.Route))
        {
            if (request.Provider is not null || request.Model is not null)
            {
                return (null, "name a route, or a provider and a model, not both");
            }
            var route = await db.Routes.AsNoTracking().Include(r => r.Targets).ThenInclude(t => t.Provider)
                .FirstOrDefaultAsync(r => r.Name == request.Route, cancellationToken);
            if (route?.Targets.OrderBy(t => t.Position).FirstOrDefault(t => t.Position >= route.ActiveTargetPosition) is not { } active)
            {
                return (null, route is null ? $"there is no route \"{request.Route}\"" : $"route \"{request.Route}\" has no target");
            }
            var price = await db.ProviderModels.AsNoTracking().FirstOrDefaultAsync(m => m.ProviderId == active.ProviderId && m.Name == active.ModelName, cancellationToken);
            var label = $"route {route.Name}";
            return (new Target(position, label, baseline, new JobTarget(route.Id, null, active.ModelName, route.Name, label),
                price?.InputPricePerMTok ?? 0, price?.OutputPricePerMTok ?? 0), null);
        }
        if (string.IsNullOrWhiteSpace(request.Provider) || string.IsNullOrWhiteSpace(request.Model))
        {
            return (null, "a target is a route, or a provider and one of its models");
        }
        var model = await db.ProviderModels.AsNoTracking().Include(m => m.Provider)
            .FirstOrDefaultAsync(m => m.Provider!.Name == request.Provider && m.Name == request.Model, cancellationToken);
        if (model is null)
        {
            var served = await db.ProviderModels.AsNoTracking().Where(m => m.Provider!.Name == request.Provider).Select(m => m.Name).OrderBy(n => n).ToListAsync(cancellationToken);
            return (null, served.Count == 0
                ? $"there is no provider \"{request.Provider}\""
                : $"{request.Provider} does not serve \"{request.Model}\"; it serves {string.Join(", ", served)}");
        }
        if (!model.Provider!.Enabled)
        {
            return (null, $"{request.Provider} is disabled");
        }
        var describe = $"{model.Provider.Name}/{model.Name}";
        return (new Target(position, describe, baseline, new JobTarget(null, model.ProviderId, model.Name, model.Name, describe),
            model.InputPricePerMTok, model.OutputPricePerMTok), null);
    }

    /// <summary>
    /// Puts the sample's record ids in a temporary table for this transaction. Random and stratified samples order by a
    /// hash of the seed and the record's id, so the same seed draws the same records; stratified takes each value of the
    /// field in turn, in proportion to its share of the source.
    /// </summary>
    private static async Task<int> DrawSampleAsync(NpgsqlConnection connection, Guid sourceJobId, SampleRequest sample, CancellationToken cancellationToken)
    {
        var pick = sample.Strategy switch
        {
            SampleStrategy.First => "SELECT id FROM items WHERE job_id = @source ORDER BY line_number, id LIMIT @size",
            SampleStrategy.Random => "SELECT id FROM items WHERE job_id = @source ORDER BY md5(@seed || ':' || custom_id), id LIMIT @size",
            _ => """
                SELECT id FROM (
                    SELECT id, row_number() OVER (PARTITION BY stratum ORDER BY r, id) AS rank, count(*) OVER (PARTITION BY stratum) AS n
                    FROM (SELECT id, coalesce(payload #>> @path, '') AS stratum, md5(@seed || ':' || custom_id) AS r FROM items WHERE job_id = @source) s) ranked
                ORDER BY (rank - 0.5) / n, id LIMIT @size
                """,
        };
        await using var command = new NpgsqlCommand($"CREATE TEMP TABLE {SampleTable} ON COMMIT DROP AS {pick}", connection);
        command.Parameters.AddWithValue("source", sourceJobId);
        command.Parameters.AddWithValue("size", sample.Size);
        command.Parameters.AddWithValue("seed", sample.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture));
        command.Parameters.AddWithValue("path", (sample.Field ?? "").Split('.'));
        await command.ExecuteNonQueryAsync(cancellationToken);
        await using var count = new NpgsqlCommand($"SELECT count(*)::int FROM {SampleTable}", connection);
        return (int)(await count.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task InsertRehearsalAsync(NpgsqlConnection connection, Rehearsal r, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO rehearsals (id, name, source_job_id, sample_strategy, sample_size, seed, stratify_field, sampled_items, judge, judge_fields,
                                    judge_pattern, budget_usd, monthly_records, created_at)
            VALUES (@id, @name, @source, @strategy, @size, @seed, @field, @sampled, @judge, @fields, @pattern, @budget, @monthly, @now)
            """, connection);
        command.Parameters.AddWithValue("id", r.Id);
        command.Parameters.AddWithValue("name", (object?)r.Name ?? DBNull.Value);
        command.Parameters.AddWithValue("source", r.SourceJobId);
        command.Parameters.AddWithValue("strategy", (int)r.SampleStrategy);
        command.Parameters.AddWithValue("size", r.SampleSize);
        command.Parameters.AddWithValue("seed", r.Seed);
        command.Parameters.AddWithValue("field", (object?)r.StratifyField ?? DBNull.Value);
        command.Parameters.AddWithValue("sampled", r.SampledItems);
        command.Parameters.AddWithValue("judge", (int)r.Judge);
        command.Parameters.AddWithValue("fields", (object?)r.JudgeFields ?? DBNull.Value);
        command.Parameters.AddWithValue("pattern", (object?)r.JudgePattern ?? DBNull.Value);
        command.Parameters.AddWithValue("budget", (object?)r.BudgetUsd ?? DBNull.Value);
        command.Parameters.AddWithValue("monthly", (object?)r.MonthlyRecords ?? DBNull.Value);
        command.Parameters.AddWithValue("now", r.CreatedAt);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task InsertTargetAsync(NpgsqlConnection connection, Guid rehearsalId, Target target, Guid jobId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            INSERT INTO rehearsal_targets (id, rehearsal_id, position, label, route_id, provider_id, model_name, is_baseline, job_id)
            VALUES (@id, @rehearsal, @position, @label, @route, @provider, @model, @baseline, @job)
            """, connection);
        command.Parameters.AddWithValue("id", Guid.CreateVersion7());
        command.Parameters.AddWithValue("rehearsal", rehearsalId);
        command.Parameters.AddWithValue("position", target.Position);
        command.Parameters.AddWithValue("label", target.Label);
        command.Parameters.AddWithValue("route", (object?)target.Job.RouteId ?? DBNull.Value);
        command.Parameters.AddWithValue("provider", (object?)target.Job.ProviderId ?? DBNull.Value);
        command.Parameters.AddWithValue("model", target.Job.RouteId is null ? target.Job.ModelName : DBNull.Value);
        command.Parameters.AddWithValue("baseline", target.IsBaseline);
        command.Parameters.AddWithValue("job", jobId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
