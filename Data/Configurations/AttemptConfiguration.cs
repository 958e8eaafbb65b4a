using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class AttemptConfiguration : IEntityTypeConfiguration<Attempt>
{
    public void Configure(EntityTypeBuilder<Attempt> builder)
    {
        builder.ToTable("attempts");
        builder.Property(a => a.Id).UseIdentityAlwaysColumn();
        builder.Property(a => a.ProviderName).HasMaxLength(100);
        builder.Property(a => a.ModelName).HasMaxLength(200);
        builder.Property(a => a.ErrorCode).HasMaxLength(100);
        builder.HasIndex(a => a.ItemId);
        builder.Property(a => a.CostUsd).HasPrecision(20, 10);
        builder.Property(a => a.PossibleCostUsd).HasPrecision(20, 10);
        builder.Property(a => a.UsageSource).HasMaxLength(16);
        // Usage reports group calls by time, provider and model.
        builder.HasIndex(a => new { a.StartedAt });
        builder.HasIndex(a => new { a.ProviderName, a.ModelName, a.StartedAt });
        // A job's charts read its attempts in time order (GET /api/jobs/{id}/timeseries, date_bin per bucket).
        builder.HasIndex(a => new { a.JobId, a.StartedAt });
        // A provider batch's spend is summed from its lines' attempts (job page, Costs page).
        builder.HasIndex(a => a.ProviderBatchId).HasFilter("provider_batch_id IS NOT NULL").HasDatabaseName("ix_attempts_provider_batch");
        // No foreign key to the item: attempts are the cost ledger and outlive a purged job's records
        // (JobLifecycle.PurgeAsync); item_id then names a record that is gone.
    }
}
