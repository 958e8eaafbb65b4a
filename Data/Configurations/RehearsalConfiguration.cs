using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class RehearsalConfiguration : IEntityTypeConfiguration<Rehearsal>
{
    public void Configure(EntityTypeBuilder<Rehearsal> builder)
    {
        builder.ToTable("rehearsals");
        builder.Property(r => r.Name).HasMaxLength(200);
        builder.Property(r => r.StratifyField).HasMaxLength(200);
        builder.Property(r => r.JudgeFields).HasMaxLength(1000);
        builder.Property(r => r.JudgePattern).HasMaxLength(1000);
        builder.Property(r => r.BudgetUsd).HasPrecision(20, 10);
        builder.HasIndex(r => r.CreatedAt);
        builder.HasOne<Job>().WithMany().HasForeignKey(r => r.SourceJobId).OnDelete(DeleteBehavior.Restrict);
        builder.HasMany(r => r.Targets).WithOne().HasForeignKey(t => t.RehearsalId).OnDelete(DeleteBehavior.Cascade);
    }
}
