using AspireBatch.Contracts;
using AspireBatch.Data;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Services;

/// <summary>
/// A job's provider batches for its page. Spend comes from the ledger (the attempts each batch's lines made), not from
/// counters on the batch, so it is exactly what the job was charged; the real-time figure prices the same tokens at the
/// real-time price the batch was packed with.
/// </summary>
public sealed class ProviderBatchQueries(BatchDbContext db)
{
    public async Task<JobProviderBatches?> GetAsync(Guid jobId, CancellationToken cancellationToken)
    {
        var job = await db.Jobs.AsNoTracking().Where(j => j.Id == jobId).Select(j => new { j.Mode, j.Deadline }).FirstOrDefaultAsync(cancellationToken);
        if (job is null)
        {
            return null;
        }
        var batches = await db.ProviderBatches.AsNoTracking().Where(b => b.JobId == jobId).OrderBy(b => b.CreatedAt).ToListAsync(cancellationToken);
        var spend = await db.Attempts.AsNoTracking().Where(a => a.JobId == jobId && a.ProviderBatchId != null)
            .GroupBy(a => a.ProviderBatchId!.Value)
            .Select(g => new
            {
                Id = g.Key, Calls = g.LongCount(), Input = g.Sum(a => (long?)a.InputTokens) ?? 0, Output = g.Sum(a => (long?)a.OutputTokens) ?? 0,
                Cost = g.Sum(a => a.CostUsd) ?? 0,
            })
            .ToDictionaryAsync(s => s.Id, cancellationToken);
        var realtimeCost = await db.Attempts.AsNoTracking().Where(a => a.JobId == jobId && a.ProviderBatchId == null).SumAsync(a => a.CostUsd, cancellationToken) ?? 0;
        var providerIds = batches.Select(b => b.ProviderId).Distinct().ToList();
        var names = await db.Providers.AsNoTracking().Where(p => providerIds.Contains(p.Id)).ToDictionaryAsync(p => p.Id, p => p.Name, cancellationToken);
        var list = batches.Select(b =>
        {
            var s = spend.GetValueOrDefault(b.Id);
            long input = s?.Input ?? 0, output = s?.Output ?? 0;
            var realtime = (input * b.RealtimeInputPricePerMTok + output * b.RealtimeOutputPricePerMTok) / 1_000_000m;
            return new ProviderBatchDto(b.Id, b.State, names.GetValueOrDefault(b.ProviderId) ?? "", b.Model, b.RemoteBatchId, b.RemoteStatus, b.LineCount, b.Bytes,
                b.CompletedLines, b.FailedLines, b.ReleasedLines, s?.Calls ?? 0, input, output, s?.Cost ?? 0, realtime,
                b.InputPricePerMTok, b.OutputPricePerMTok, b.CancelReason, b.Error, b.CreatedAt, b.SubmittedAt, b.EndedAt, b.DoneAt);
        }).ToList();
        return new JobProviderBatches(jobId, job.Mode, job.Deadline, list, list.Sum(b => b.CostUsd), list.Sum(b => b.RealtimeCostUsd), realtimeCost);
    }
}
