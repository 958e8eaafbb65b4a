using AspireBatch.Contracts;
using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class ItemConfiguration : IEntityTypeConfiguration<Item>
{
    public void Configure(EntityTypeBuilder<Item> builder)
    {
        builder.ToTable("items");
        builder.Property(i => i.Id).UseIdentityAlwaysColumn();
        builder.Property(i => i.CustomId).HasMaxLength(512);
        builder.Property(i => i.Payload).HasColumnType("jsonb");
        builder.Property(i => i.CostUsd).HasPrecision(20, 10);
        builder.Property(i => i.ErrorCode).HasMaxLength(100);
        builder.Property(i => i.UsageSource).HasMaxLength(16);
        builder.Property(i => i.InFlightCostUsd).HasPrecision(20, 10);
        builder.Property(i => i.InFlightModel).HasMaxLength(200);
        builder.Property(i => i.InDoubtCostUsd).HasPrecision(20, 10);
        builder.Property(i => i.ResponseId).HasMaxLength(200);
        builder.Property(i => i.RequestHash).HasColumnType("bytea");
        builder.Property(i => i.Embedding).HasColumnType("bytea");
        builder.HasOne<Job>().WithMany().HasForeignKey(i => i.JobId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<ProviderBatch>().WithMany().HasForeignKey(i => i.ProviderBatchId).OnDelete(DeleteBehavior.SetNull);
        // A provider batch reads its records (to pack, to write results, to give back the rest) by its id.
        builder.HasIndex(i => i.ProviderBatchId).HasFilter("provider_batch_id IS NOT NULL").HasDatabaseName("ix_items_provider_batch");

        // One record per id within a job; also the lookup for the OpenAI custom_id.
        builder.HasIndex(i => new { i.JobId, i.CustomId }).IsUnique();
        // Claiming the next pending items of a job stays an index scan at millions of rows.
        // Followers of a duplicate (duplicate_of set) are never claimed, so the index leaves them out.
        builder.HasIndex(i => new { i.JobId, i.Id }).HasFilter($"state = {(int)ItemState.Pending} AND duplicate_of IS NULL").HasDatabaseName("ix_items_pending");
        // A leader's result goes to its followers in the same statement.
        builder.HasIndex(i => i.DuplicateOf).HasFilter("duplicate_of IS NOT NULL").HasDatabaseName("ix_items_duplicate_of");
        // The lease sweeper only looks at running items.
        builder.HasIndex(i => i.LeaseExpiresAt).HasFilter($"state = {(int)ItemState.Running}").HasDatabaseName("ix_items_running_lease");
        // Paging and filtering a job's items by state and error.
        builder.HasIndex(i => new { i.JobId, i.State, i.Id });
        builder.HasIndex(i => new { i.JobId, i.ErrorCode }).HasFilter($"state = {(int)ItemState.Failed}").HasDatabaseName("ix_items_failed_error");
    }
}
