using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> builder)
    {
        builder.ToTable("audit_log");
        builder.Property(a => a.Actor).HasMaxLength(300);
        builder.Property(a => a.Team).HasMaxLength(100);
        builder.Property(a => a.Action).HasMaxLength(100);
        builder.Property(a => a.ResourceType).HasMaxLength(50);
        builder.Property(a => a.ResourceId).HasMaxLength(300);
        builder.Property(a => a.Before).HasColumnType("jsonb");
        builder.Property(a => a.After).HasColumnType("jsonb");
        // The Audit page reads newest first, narrowed by resource or actor.
        builder.HasIndex(a => a.At);
        builder.HasIndex(a => new { a.ResourceType, a.ResourceId });
    }
}
