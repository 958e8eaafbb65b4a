using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class RetentionPolicyConfiguration : IEntityTypeConfiguration<RetentionPolicy>
{
    public void Configure(EntityTypeBuilder<RetentionPolicy> builder)
    {
        builder.ToTable("retention_policies", t => t.HasCheckConstraint("ck_retention_policies_days", "purge_finished_jobs_after_days >= 1"));
        // One policy per team.
        builder.HasKey(p => p.Team);
        builder.Property(p => p.Team).HasMaxLength(100);
    }
}
