using AspireBatch.Api.Services.Access;
using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Services.Rehearsals;

/// <summary>
/// Reads rehearsals: the comparison of every target on the same records, computed from their jobs' ledgers each time
/// it is read (so a running rehearsal shows its figures so far and a finished one never goes stale).
/// </summary>
public sealed class RehearsalReports(BatchDbContext db, CallerAccess access)
{
    private static readonly int[] LatencyBinsMs = [50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, int.MaxValue];
    private const int MaxConfusionLabels = 20;
    private const string OtherLabel = "(other)";

    /// <summary>One record's answer on one target, as the comparison needs it.</summary>
    private sealed record Answer(string CustomId, int LineNumber, ItemState State, string? Text, string? ErrorCode, int? LatencyMs, decimal? CostUsd);

    /// <summary>What the comparison is made from: the rehearsal, its targets in position order, their jobs and answers.</summary>
    private sealed record Loaded(Rehearsal Rehearsal, List<RehearsalTarget> Targets, Dictionary<Guid, Job> Jobs, Job? Source,
        List<Dictionary<string, Answer>> Answers, AnswerJudge Judge, int Baseline);

    public async Task<IReadOnlyList<RehearsalSummaryDto>> ListAsync(CancellationToken cancellationToken)
    {
        var team = access.TeamFilter;
        var rehearsals = await db.Rehearsals.AsNoTracking().Include(r => r.Targets)
            .Where(r => team == null || db.Jobs.Any(j => j.Id == r.SourceJobId && j.Team == team))
            .OrderByDescending(r => r.CreatedAt).Take(200).ToListAsync(cancellationToken);
        var jobIds = rehearsals.SelectMany(r => r.Targets).Select(t => t.JobId).ToList();
        var jobs = await db.Jobs.AsNoTracking().Where(j => jobIds.Contains(j.Id)).ToDictionaryAsync(j => j.Id, cancellationToken);
        return rehearsals.Select(r => new RehearsalSummaryDto(r.Id, r.Name, StateOf(r, r.Targets.Select(t => jobs[t.JobId])), r.SourceJobId, r.SampledItems,
            r.Targets.Count, r.Targets.FirstOrDefault(t => t.IsBaseline)?.Label ?? "", r.Targets.Sum(t => jobs[t.JobId].CostUsd), r.CreatedAt)).ToList();
    }

    public async Task<RehearsalDto?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        if (await LoadAsync(id, cancellationToken) is not { } loaded)
        {
            return null;
        }
        var (rehearsal, targets, jobs, source, answers, judge, baseline) = loaded;
        var reports = targets.Select((t, i) => Report(loaded, i)).ToList();
        var pairwise = targets.Select((_, i) => (IReadOnlyList<double?>)targets.Select((_, j) => i == j ? 1.0 : Agreement(loaded, i, j).Rate).ToList()).ToList();
        var confusion = judge.Kind == JudgeKind.Label
            ? targets.Select((t, i) => i).Where(i => i != baseline).Select(i => Confusion(loaded, i)).ToList()
            : [];
        var adoptions = await AdoptionsAsync(id, cancellationToken);
        return new RehearsalDto(rehearsal.Id, rehearsal.Name, StateOf(rehearsal, jobs.Values), rehearsal.SourceJobId, source?.TotalItems ?? 0,
            new SampleRequest(rehearsal.SampleSize, rehearsal.SampleStrategy, rehearsal.Seed, rehearsal.StratifyField), rehearsal.SampledItems,
            JudgeOf(rehearsal), rehearsal.BudgetUsd, rehearsal.MonthlyRecords, reports, pairwise, confusion,
            Records(loaded).Count(r => r.Answers.Any(a => a.Agrees == false)), adoptions, rehearsal.CreatedAt, rehearsal.CancelledAt);
    }

    /// <summary>The records side by side, in file order; only those where some target disagrees with the baseline when asked.</summary>
    public async Task<PagedResult<RehearsalRecordDto>?> RecordsAsync(Guid id, bool disagreementsOnly, int page, int pageSize, CancellationToken cancellationToken)
    {
        if (await LoadAsync(id, cancellationToken) is not { } loaded)
        {
            return null;
        }
        var records = Records(loaded).Where(r => !disagreementsOnly || r.Answers.Any(a => a.Agrees == false)).ToList();
        return new PagedResult<RehearsalRecordDto>(records.Skip((page - 1) * pageSize).Take(pageSize).ToList(), page, pageSize, records.Count);
    }

    /// <summary>Every record on every target (for the export).</summary>
    public async Task<(RehearsalDto Report, IReadOnlyList<RehearsalRecordDto> Records, IReadOnlyList<string> Labels)?> ExportAsync(Guid id, CancellationToken cancellationToken)
    {
        if (await GetAsync(id, cancellationToken) is not { } report || await LoadAsync(id, cancellationToken) is not { } loaded)
        {
            return null;
        }
        return (report, Records(loaded), loaded.Targets.Select(t => t.Label).ToList());
    }

    /// <summary>Proposed route thresholds for adopting <paramref name="candidate"/>, from what the rehearsal measured.</summary>
    public async Task<(AdoptionProposal? Proposal, string? Problem)> ProposeAsync(Guid id, int candidate, string? routeName, CancellationToken cancellationToken)
    {
        if (await GetAsync(id, cancellationToken) is not { } report)
        {
            return (null, null);
        }
        if (candidate < 0 || candidate >= report.Targets.Count)
        {
            return (null, $"the rehearsal has targets 0 to {report.Targets.Count - 1}");
        }
        var target = report.Targets[candidate];
        var baseline = report.Targets.First(t => t.IsBaseline);
        var defaults = new RouteThresholds();
        var why = new List<string>();
        var latency = defaults.MaxMeanLatencyMs;
        if (target.P95LatencyMs > 0)
        {
            latency = Math.Ceiling(target.P95LatencyMs * 2 / 10) * 10;
            why.Add($"mean latency above {latency:0} ms: twice the candidate's measured p95 ({target.P95LatencyMs:0} ms)");
        }
        var measuredErrors = 1 - target.SuccessRate;
        var errorRate = Math.Min(0.5, Math.Max(defaults.MaxErrorRate, Math.Round(measuredErrors * 2, 3)));
        why.Add(errorRate > defaults.MaxErrorRate
            ? $"error rate above {errorRate:P1}: twice the {measuredErrors:P1} measured (the playbook's 5 % would roll back at once)"
            : $"error rate above {errorRate:P1}: the playbook's, the candidate measured {measuredErrors:P1}");
        var thresholds = defaults with { MaxErrorRate = errorRate, MaxMeanLatencyMs = latency, MinSuccessRate = Math.Round(1 - errorRate, 3), AutoRollback = true };
        why.Add($"success rate below {thresholds.MinSuccessRate:P1}, judged over {thresholds.WindowSeconds} s windows of at least {thresholds.MinCalls} calls");
        var route = routeName ?? (await db.RehearsalTargets.AsNoTracking().Where(t => t.RehearsalId == id && t.IsBaseline && t.RouteId != null)
            .Join(db.Routes, t => t.RouteId, r => r.Id, (_, r) => r.Name).FirstOrDefaultAsync(cancellationToken));
        return (new AdoptionProposal(candidate, target.Label, route, baseline.Label, thresholds, why), null);
    }

    /// <summary>The rehearsal's targets with their jobs, for commands (cancel, adopt).</summary>
    public async Task<(Rehearsal Rehearsal, IReadOnlyList<Job> Jobs)?> FindAsync(Guid id, CancellationToken cancellationToken)
    {
        var rehearsal = await db.Rehearsals.AsNoTracking().Include(r => r.Targets).FirstOrDefaultAsync(r => r.Id == id, cancellationToken);
        if (rehearsal is null)
        {
            return null;
        }
        rehearsal.Targets = rehearsal.Targets.OrderBy(t => t.Position).ToList();
        var jobIds = rehearsal.Targets.Select(t => t.JobId).ToList();
        var jobs = await db.Jobs.AsNoTracking().Where(j => jobIds.Contains(j.Id)).ToListAsync(cancellationToken);
        return (rehearsal, rehearsal.Targets.Select(t => jobs.First(j => j.Id == t.JobId)).ToList());
    }

    public static RehearsalState StateOf(Rehearsal rehearsal, IEnumerable<Job> jobs) =>
        rehearsal.CancelledAt is not null ? RehearsalState.Cancelled
        : jobs.Any(j => j.State is JobState.Queued or JobState.Running) ? RehearsalState.Running
        : jobs.Any(j => j.State == JobState.Paused) ? RehearsalState.Paused
        : RehearsalState.Completed;

    private async Task<Loaded?> LoadAsync(Guid id, CancellationToken cancellationToken)
    {
        if (await FindAsync(id, cancellationToken) is not var (rehearsal, jobList))
        {
            return null;
        }
        var jobs = jobList.ToDictionary(j => j.Id);
        var source = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == rehearsal.SourceJobId, cancellationToken);
        var jobIds = jobs.Keys.ToList();
        var rows = await db.Items.AsNoTracking().Where(i => jobIds.Contains(i.JobId))
            .Select(i => new { i.JobId, i.CustomId, i.LineNumber, i.State, i.ResponseText, i.ErrorCode, i.LatencyMs, i.CostUsd })
            .ToListAsync(cancellationToken);
        var byJob = rows.ToLookup(r => r.JobId);
        var answers = rehearsal.Targets.Select(t => byJob[t.JobId]
            .ToDictionary(r => r.CustomId, r => new Answer(r.CustomId, r.LineNumber, r.State, r.ResponseText, r.ErrorCode, r.LatencyMs, r.CostUsd))).ToList();
        var judge = AnswerJudge.Create(JudgeOf(rehearsal), out _);
        var baseline = Math.Max(0, rehearsal.Targets.FindIndex(t => t.IsBaseline));
        return new Loaded(rehearsal, rehearsal.Targets, jobs, source, answers, judge, baseline);
    }

    private static JudgeRequest JudgeOf(Rehearsal r) =>
        new(r.Judge, r.JudgeFields?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), r.JudgePattern);

    private static RehearsalTargetReport Report(Loaded loaded, int index)
    {
        var target = loaded.Targets[index];
        var job = loaded.Jobs[target.JobId];
        var answered = loaded.Answers[index].Values.Where(a => a.State == ItemState.Succeeded && a.LatencyMs is not null).Select(a => a.LatencyMs!.Value).Order().ToList();
        var settled = job.SucceededItems + job.FailedItems;
        decimal? per1k = settled == 0 ? null : Math.Round(job.CostUsd / settled * 1000, 6);
        var agreement = index == loaded.Baseline ? (Rate: (double?)null, Compared: 0) : Agreement(loaded, loaded.Baseline, index);
        var histogram = LatencyBinsMs.Select((upper, i) => new LatencyBin(upper == int.MaxValue ? -1 : upper,
            answered.Count(l => l <= upper && (i == 0 || l > LatencyBinsMs[i - 1])))).ToList();
        return new RehearsalTargetReport(target.Position, target.Label, target.IsBaseline, job.Id, job.State, job.StateReason, job.TotalItems,
            job.SucceededItems, job.FailedItems, job.TotalItems - job.SucceededItems - job.FailedItems - job.CancelledItems,
            settled == 0 ? 0 : (double)job.SucceededItems / settled,
            answered.Count == 0 ? 0 : answered.Average(),
            answered.Count == 0 ? 0 : answered[Math.Max(0, (int)Math.Ceiling(answered.Count * 0.95) - 1)],
            job.InputTokens, job.OutputTokens, job.CostUsd, per1k,
            per1k is { } a && loaded.Source is { } source ? Math.Round(a * source.TotalItems / 1000, 4) : null,
            per1k is { } b && loaded.Rehearsal.MonthlyRecords is { } monthly ? Math.Round(b * monthly / 1000, 2) : null,
            agreement.Rate, agreement.Compared, histogram);
    }

    /// <summary>Share of the records both targets answered on which the judge finds them agreeing; null without a judge or any such record.</summary>
    private static (double? Rate, int Compared) Agreement(Loaded loaded, int a, int b)
    {
        if (loaded.Judge.Kind == JudgeKind.None)
        {
            return (null, 0);
        }
        int compared = 0, agreed = 0;
        foreach (var (id, left) in loaded.Answers[a])
        {
            if (left.State != ItemState.Succeeded || !loaded.Answers[b].TryGetValue(id, out var right) || right.State != ItemState.Succeeded)
            {
                continue;
            }
            compared++;
            if (loaded.Judge.Agrees(left.Text, right.Text) == true)
            {
                agreed++;
            }
        }
        return (compared == 0 ? null : (double)agreed / compared, compared);
    }

    /// <summary>The baseline's labels (rows) against the candidate's (columns); past 20 labels the rarest count as "(other)".</summary>
    private static ConfusionMatrix Confusion(Loaded loaded, int candidate)
    {
        var pairs = new List<(string Baseline, string Candidate)>();
        foreach (var (id, left) in loaded.Answers[loaded.Baseline])
        {
            if (left.State == ItemState.Succeeded && loaded.Answers[candidate].TryGetValue(id, out var right) && right.State == ItemState.Succeeded)
            {
                pairs.Add((loaded.Judge.Key(left.Text) ?? OtherLabel, loaded.Judge.Key(right.Text) ?? OtherLabel));
            }
        }
        var frequent = pairs.SelectMany(p => new[] { p.Baseline, p.Candidate }).GroupBy(l => l)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Select(g => g.Key).Take(MaxConfusionLabels).ToList();
        var labels = frequent.Order(StringComparer.Ordinal).ToList();
        if (pairs.Any(p => !labels.Contains(p.Baseline) || !labels.Contains(p.Candidate)) && !labels.Contains(OtherLabel))
        {
            labels.Add(OtherLabel);
        }
        int IndexOf(string label) => labels.IndexOf(labels.Contains(label) ? label : OtherLabel);
        var counts = labels.Select(_ => new int[labels.Count]).ToList();
        foreach (var (row, column) in pairs)
        {
            counts[IndexOf(row)][IndexOf(column)]++;
        }
        return new ConfusionMatrix(loaded.Targets[candidate].Position, labels, counts.Select(c => (IReadOnlyList<int>)c).ToList());
    }

    private static List<RehearsalRecordDto> Records(Loaded loaded)
    {
        var baseline = loaded.Answers[loaded.Baseline];
        var labelled = loaded.Judge.Kind == JudgeKind.Label;
        return loaded.Answers.SelectMany(a => a.Values).GroupBy(a => a.CustomId)
            .Select(g => (g.Key, Line: g.Min(a => a.LineNumber)))
            .OrderBy(r => r.Line).ThenBy(r => r.Key, StringComparer.Ordinal)
            .Select(r => new RehearsalRecordDto(r.Key, r.Line, loaded.Targets.Select((t, i) =>
            {
                var answer = loaded.Answers[i].GetValueOrDefault(r.Key);
                var reference = baseline.GetValueOrDefault(r.Key);
                bool? agrees = i == loaded.Baseline || answer?.State != ItemState.Succeeded || reference?.State != ItemState.Succeeded
                    ? null
                    : loaded.Judge.Agrees(reference.Text, answer.Text);
                return new RehearsalAnswer(t.Position, answer?.State ?? ItemState.Pending, answer?.Text, labelled ? loaded.Judge.Key(answer?.Text) : null,
                    answer?.ErrorCode, answer?.LatencyMs, answer?.CostUsd, agrees);
            }).ToList())).ToList();
    }

    private async Task<IReadOnlyList<RouteAdoptionDto>> AdoptionsAsync(Guid id, CancellationToken cancellationToken) =>
        await db.RollbackEvents.AsNoTracking().Where(e => e.RehearsalId == id).OrderBy(e => e.CreatedAt)
            .Join(db.Routes, e => e.RouteId, r => r.Id, (e, r) => new RouteAdoptionDto(e.Id, e.RouteId, r.Name, e.FromTarget, e.ToTarget, e.Reason, e.CreatedAt))
            .ToListAsync(cancellationToken);
}
