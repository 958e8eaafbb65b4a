using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class StoredFileConfiguration : IEntityTypeConfiguration<StoredFile>
{
    public void Configure(EntityTypeBuilder<StoredFile> builder)
    {
        builder.ToTable("files");
        builder.Property(f => f.Id).HasMaxLength(64);
        builder.Property(f => f.FileName).HasMaxLength(500);
        builder.Property(f => f.Purpose).HasMaxLength(50);
        builder.Property(f => f.OutputKind).HasMaxLength(20);
        builder.HasIndex(f => f.CreatedAt);
        builder.HasIndex(f => f.JobId);
        builder.Property(f => f.Team).HasMaxLength(100).HasDefaultValue(Contracts.ApiScopes.AdminTeam);
        // The retention sweeper looks for expired files.
        builder.HasIndex(f => f.ExpiresAt).HasFilter("expires_at IS NOT NULL");
        // Every read of the Files API sees only files that are neither deleted nor expired (the database's clock: an
        // expired file is gone from that moment, before the sweeper deletes it); registering batch files looks past this.
        builder.HasQueryFilter(f => f.DeletedAt == null && (f.ExpiresAt == null || f.ExpiresAt > DateTimeOffset.UtcNow));
    }
}
