using AspireBatch.Api.Services.Access;
using System.Diagnostics;
using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Domain;
using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Services;

public sealed record JobFilter(JobState? State, string? Model, DateTimeOffset? From, DateTimeOffset? To);

/// <summary>The read model of jobs and items: paged, filtered, never counting a job's items to show progress.</summary>
public sealed class JobQueries(BatchDbContext db, TimeProvider time, CallerAccess access)
{
    public async Task<PagedResult<JobDto>> ListAsync(JobFilter filter, int page, int pageSize, CancellationToken cancellationToken)
    {
        var query = db.Jobs.AsNoTracking();
        if (access.TeamFilter is { } team)
        {
            query = query.Where(j => j.Team == team);
        }
        if (filter.State is { } state)
        {
            query = query.Where(j => j.State == state);
        }
        if (!string.IsNullOrWhiteSpace(filter.Model))
        {
            query = query.Where(j => j.RequestedModel == filter.Model || j.ModelName == filter.Model);
        }
        if (filter.From is { } from)
        {
            query = query.Where(j => j.CreatedAt >= from);
        }
        if (filter.To is { } to)
        {
            query = query.Where(j => j.CreatedAt < to);
        }
        var total = await query.LongCountAsync(cancellationToken);
        var jobs = await query.OrderByDescending(j => j.CreatedAt).Skip((page - 1) * pageSize).Take(pageSize).ToListAsync(cancellationToken);
        return new PagedResult<JobDto>(await ToDtosAsync(jobs, cancellationToken), page, pageSize, total);
    }

    /// <summary>A job's history, oldest first; null when there is no such job.</summary>
    public async Task<IReadOnlyList<JobEventDto>?> EventsAsync(Guid id, CancellationToken cancellationToken)
    {
        var events = await db.JobEvents.AsNoTracking().Where(e => e.JobId == id).OrderBy(e => e.Id)
            .Select(e => new JobEventDto(e.Id, e.At, e.Kind, e.FromState, e.ToState, e.Actor, e.Reason, e.Items)).ToListAsync(cancellationToken);
        return events.Count > 0 || await db.Jobs.AnyAsync(j => j.Id == id, cancellationToken) ? events : null;
    }

    public async Task<JobDto?> GetAsync(Guid id, CancellationToken cancellationToken)
    {
        var job = await db.Jobs.AsNoTracking().FirstOrDefaultAsync(j => j.Id == id, cancellationToken);
        return job is null ? null : (await ToDtosAsync([job], cancellationToken))[0];
    }

    public async Task<IReadOnlyList<JobDto>> ToDtosAsync(IReadOnlyList<Job> jobs, CancellationToken cancellationToken)
    {
        var routeIds = jobs.Where(j => j.RouteId is not null).Select(j => j.RouteId!.Value).Distinct().ToList();
        var providerIds = jobs.Where(j => j.ProviderId is not null).Select(j => j.ProviderId!.Value).Distinct().ToList();
        var routes = await db.Routes.AsNoTracking().Where(r => routeIds.Contains(r.Id)).ToDictionaryAsync(r => r.Id, r => r.Name, cancellationToken);
        var providers = await db.Providers.AsNoTracking().Where(p => providerIds.Contains(p.Id)).ToDictionaryAsync(p => p.Id, p => p.Name, cancellationToken);
        var now = time.GetUtcNow();
        return jobs.Select(j => ToDto(j, j.RouteId is { } r ? routes.GetValueOrDefault(r) : null, j.ProviderId is { } p ? providers.GetValueOrDefault(p) : null, now)).ToList();
    }

    public static JobDto ToDto(Job job, string? routeName, string? providerName, DateTimeOffset now)
    {
        var done = job.SucceededItems + job.FailedItems + job.CancelledItems;
        var pending = Math.Max(0, job.TotalItems - done);
        var end = job.CompletedAt ?? job.CancelledAt ?? now;
        var elapsed = job.StartedAt is { } started ? (end - started).TotalSeconds : 0;
        var rate = elapsed > 0 ? (job.SucceededItems + job.FailedItems) / elapsed : 0;
        double? eta = job.State == JobState.Running && rate > 0 ? pending / rate : null;
        var counters = new JobCounters(job.TotalItems, pending, job.SucceededItems, job.FailedItems, job.CancelledItems,
            job.InputTokens, job.OutputTokens, job.CostUsd, rate, eta, job.CachedInputTokens, job.ReasoningTokens, job.EstimatedUsageCostUsd,
            job.InDoubtCalls, job.InDoubtCostUsd);
        var estimate = new JobEstimate(job.TotalItems, job.EstimatedInputTokens,
            (long)job.TotalItems * Pricing.OutputTokensForEstimate(job.Endpoint, job.MaxTokens), job.EstimatedCostBoundUsd, job.ModelName ?? job.RequestedModel,
            job.DeduplicatedItems, job.CachedItems);
        string? traceId = null;
        if (job.TraceParent is { } parent && ActivityContext.TryParse(parent, null, out var context))
        {
            traceId = context.TraceId.ToHexString();
        }
        return new JobDto(job.Id, job.Name, job.State, job.StateReason, job.InputFormat, job.RequestedModel, routeName, providerName,
            job.ModelName, job.Temperature, job.MaxTokens, job.SystemTemplate, job.UserTemplate, counters, estimate, job.BudgetUsd,
            job.RequestsPerMinuteCap, traceId, job.IsBatch, job.CreatedAt, job.StartedAt, job.CompletedAt, job.TemplateHash, job.ParametersHash,
            job.Dedup, job.DeduplicatedItems, AnswerFields.DeclaredBy(job.ResponseFormat), job.Endpoint, job.Dimensions, job.ResponseCacheTtlSeconds,
            job.CachedItems, job.Mode, job.Deadline, job.PurgedAt is { } purgedAt ? new JobPurgeDto(purgedAt, job.PurgedItems, job.PurgedBytes) : null);
    }

    /// <param name="answerField">With <paramref name="answerValue"/>: only items whose answer has that value at that path (see <see cref="AnswerFields"/>).</param>
    public async Task<PagedResult<ItemSummaryDto>?> ItemsAsync(Guid jobId, ItemState? state, string? errorCode, int page, int pageSize, CancellationToken cancellationToken,
        string[]? answerField = null, string? answerValue = null)
    {
        if (!await db.Jobs.AnyAsync(j => j.Id == jobId, cancellationToken))
        {
            return null;
        }
        var query = answerField is null
            ? db.Items.AsNoTracking()
            : db.Items.FromSql($"SELECT * FROM items WHERE job_id = {jobId} AND try_jsonb(response_text) #>> {answerField} = {answerValue}").AsNoTracking();
        query = query.Where(i => i.JobId == jobId);
        if (state is { } s)
        {
            query = query.Where(i => i.State == s);
        }
        if (!string.IsNullOrWhiteSpace(errorCode))
        {
            query = query.Where(i => i.ErrorCode == errorCode);
        }
        // Counting a filtered million-row page is the one count we allow; the unfiltered total comes from the job's counters.
        var total = state is null && string.IsNullOrWhiteSpace(errorCode) && answerField is null
            ? await db.Jobs.Where(j => j.Id == jobId).Select(j => (long)j.TotalItems).FirstAsync(cancellationToken)
            : await query.LongCountAsync(cancellationToken);
        var providers = await db.Providers.AsNoTracking().ToDictionaryAsync(p => p.Id, p => p.Name, cancellationToken);
        var items = await query.OrderBy(i => i.Id).Skip((page - 1) * pageSize).Take(pageSize)
            .Select(i => new { i.Id, i.CustomId, i.LineNumber, i.State, i.Attempts, i.ErrorCode, i.ErrorMessage, i.InputTokens, i.OutputTokens, i.CostUsd, i.LatencyMs, i.ProviderId, i.ModelName, i.CompletedAt, i.UsageSource, i.InDoubtCalls, i.InDoubtCostUsd, i.DuplicateOf })
            .ToListAsync(cancellationToken);
        var leaderIds = items.Where(i => i.DuplicateOf is not null).Select(i => i.DuplicateOf!.Value).Distinct().ToList();
        var leaders = leaderIds.Count == 0 ? [] : await db.Items.AsNoTracking().Where(i => leaderIds.Contains(i.Id))
            .ToDictionaryAsync(i => i.Id, i => i.CustomId, cancellationToken);
        return new PagedResult<ItemSummaryDto>(items.Select(i => new ItemSummaryDto(i.Id, i.CustomId, i.LineNumber, i.State, i.Attempts, i.ErrorCode, i.ErrorMessage,
            i.InputTokens, i.OutputTokens, i.CostUsd, i.LatencyMs, i.ProviderId is { } p ? providers.GetValueOrDefault(p) : null, i.ModelName, i.CompletedAt,
            i.UsageSource, i.InDoubtCalls, i.InDoubtCostUsd,
            i.DuplicateOf is { } leader ? new DuplicateOfDto(leader, leaders.GetValueOrDefault(leader, "")) : null)).ToList(),
            page, pageSize, total);
    }

    public async Task<ItemDetailDto?> ItemAsync(Guid jobId, long itemId, CancellationToken cancellationToken)
    {
        var item = await db.Items.AsNoTracking().FirstOrDefaultAsync(i => i.JobId == jobId && i.Id == itemId, cancellationToken);
        if (item is null)
        {
            return null;
        }
        var job = await db.Jobs.AsNoTracking().FirstAsync(j => j.Id == jobId, cancellationToken);
        var providerName = item.ProviderId is { } pid ? await db.Providers.Where(p => p.Id == pid).Select(p => p.Name).FirstOrDefaultAsync(cancellationToken) : null;
        var attempts = await db.Attempts.AsNoTracking().Where(a => a.ItemId == itemId).OrderBy(a => a.Id)
            .Select(a => new AttemptDto(a.Number, a.ProviderName, a.ModelName, a.StatusCode, a.ErrorCode, a.ErrorMessage, a.LatencyMs, a.WaitMs, a.Fallback, a.StartedAt,
                a.InputTokens, a.OutputTokens, a.CostUsd, a.UsageSource, a.PossibleCostUsd))
            .ToListAsync(cancellationToken);
        var builder = new ProviderRequestBuilder(new JobRequestSettings(job.InputFormat, job.SystemTemplate, job.UserTemplate, job.Temperature, job.MaxTokens, job.ResponseFormat,
            job.Endpoint, job.Dimensions));
        var request = builder.Build(item.Payload, item.ModelName ?? job.ModelName ?? job.RequestedModel).ToJsonString();
        var duplicateOf = item.DuplicateOf is { } leader
            ? new DuplicateOfDto(leader, await db.Items.Where(i => i.Id == leader).Select(i => i.CustomId).FirstAsync(cancellationToken))
            : null;
        var summary = new ItemSummaryDto(item.Id, item.CustomId, item.LineNumber, item.State, item.Attempts, item.ErrorCode, item.ErrorMessage,
            item.InputTokens, item.OutputTokens, item.CostUsd, item.LatencyMs, providerName, item.ModelName, item.CompletedAt,
            item.UsageSource, item.InDoubtCalls, item.InDoubtCostUsd, duplicateOf);
        var routeName = job.RouteId is { } rid ? await db.Routes.Where(r => r.Id == rid).Select(r => r.Name).FirstOrDefaultAsync(cancellationToken) : null;
        var lineage = new ItemLineageDto(job.Id, job.TemplateHash, job.ParametersHash, routeName, item.RoutePosition, providerName, job.RequestedModel,
            item.ModelName, item.ResponseModel, item.ResponseId, item.ResultAttempt, item.UsageSource, await CachedFromAsync(item.CachedFrom, cancellationToken),
            item.ProviderBatchId);
        return new ItemDetailDto(summary, item.Payload, request, item.ResponseText, item.ResponseBody, item.FinishReason, item.ResponseModel, item.StatusCode, attempts,
            item.CachedInputTokens, item.ReasoningTokens, item.InternalErrors, lineage, Embeddings.Describe(item.Embedding, item.EmbeddingDimensions));
    }

    /// <summary>The source of a cached answer, from the cache entry's key: the job that paid may since have been purged.</summary>
    private async Task<CachedFromDto?> CachedFromAsync(long? sourceItemId, CancellationToken cancellationToken) =>
        sourceItemId is { } id
            ? await db.Items.Where(i => i.Id == id).Select(i => new CachedFromDto(i.JobId, i.Id)).FirstOrDefaultAsync(cancellationToken)
                ?? await db.ResponseCache.Where(e => e.SourceItemId == id).Select(e => new CachedFromDto(e.SourceJobId, e.SourceItemId)).FirstOrDefaultAsync(cancellationToken)
            : null;
}
