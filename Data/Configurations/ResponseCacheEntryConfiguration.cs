using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class ResponseCacheEntryConfiguration : IEntityTypeConfiguration<ResponseCacheEntry>
{
    public void Configure(EntityTypeBuilder<ResponseCacheEntry> builder)
    {
        builder.ToTable("response_cache");
        builder.HasKey(e => e.Key);
        builder.Property(e => e.Key).HasColumnType("bytea");
        builder.Property(e => e.ModelName).HasMaxLength(200);
        builder.Property(e => e.ResponseModel).HasMaxLength(200);
        builder.Property(e => e.ResponseId).HasMaxLength(200);
        // No foreign key to the record that paid: the cache outlives a purged job; the sweep deletes by expiry.
        builder.HasIndex(e => e.ExpiresAt);
    }
}
