using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class ProviderConfiguration : IEntityTypeConfiguration<Provider>
{
    public void Configure(EntityTypeBuilder<Provider> builder)
    {
        builder.ToTable("providers");
        builder.Property(p => p.Name).HasMaxLength(100);
        builder.HasIndex(p => p.Name).IsUnique();
        builder.Property(p => p.BaseUrl).HasMaxLength(2000);
        builder.Property(p => p.ApiKeyLast4).HasMaxLength(4);
        builder.Property(p => p.BatchDiscountPercent).HasPrecision(5, 2);
        builder.HasMany(p => p.Models).WithOne(m => m.Provider).HasForeignKey(m => m.ProviderId).OnDelete(DeleteBehavior.Cascade);
    }
}
