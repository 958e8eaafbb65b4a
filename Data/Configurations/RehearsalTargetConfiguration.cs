using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class RehearsalTargetConfiguration : IEntityTypeConfiguration<RehearsalTarget>
{
    public void Configure(EntityTypeBuilder<RehearsalTarget> builder)
    {
        builder.ToTable("rehearsal_targets");
        builder.Property(t => t.Label).HasMaxLength(300);
        builder.Property(t => t.ModelName).HasMaxLength(200);
        builder.HasIndex(t => new { t.RehearsalId, t.Position }).IsUnique();
        builder.HasOne<Job>().WithMany().HasForeignKey(t => t.JobId).OnDelete(DeleteBehavior.Restrict);
    }
}
