using AspireBatch.Contracts;
using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class ProviderBatchConfiguration : IEntityTypeConfiguration<ProviderBatch>
{
    public void Configure(EntityTypeBuilder<ProviderBatch> builder)
    {
        builder.ToTable("provider_batches");
        builder.Property(b => b.Model).HasMaxLength(200);
        builder.Property(b => b.RemoteInputFileId).HasMaxLength(200);
        builder.Property(b => b.RemoteBatchId).HasMaxLength(200);
        builder.Property(b => b.RemoteStatus).HasMaxLength(32);
        builder.Property(b => b.RemoteOutputFileId).HasMaxLength(200);
        builder.Property(b => b.RemoteErrorFileId).HasMaxLength(200);
        builder.Property(b => b.CancelReason).HasMaxLength(500);
        builder.Property(b => b.InputPricePerMTok).HasPrecision(18, 6);
        builder.Property(b => b.OutputPricePerMTok).HasPrecision(18, 6);
        builder.Property(b => b.RealtimeInputPricePerMTok).HasPrecision(18, 6);
        builder.Property(b => b.RealtimeOutputPricePerMTok).HasPrecision(18, 6);
        builder.HasOne<Job>().WithMany().HasForeignKey(b => b.JobId).OnDelete(DeleteBehavior.Cascade);
        builder.HasOne<Provider>().WithMany().HasForeignKey(b => b.ProviderId).OnDelete(DeleteBehavior.Restrict);
        // The job page lists a job's batches; workers look for the ones not done.
        builder.HasIndex(b => new { b.JobId, b.CreatedAt });
        builder.HasIndex(b => b.NextPollAt).HasFilter($"state <> {(int)ProviderBatchState.Done}").HasDatabaseName("ix_provider_batches_open");
    }
}
