using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> builder)
    {
        builder.ToTable("api_keys");
        builder.Property(k => k.Name).HasMaxLength(200);
        builder.Property(k => k.Team).HasMaxLength(100);
        builder.Property(k => k.Prefix).HasMaxLength(20);
        builder.Property(k => k.Hash).HasColumnType("bytea");
        builder.Property(k => k.MonthlyBudgetUsd).HasPrecision(20, 10);
        // Every request looks its key up by hash.
        builder.HasIndex(k => k.Hash).IsUnique();
    }
}
