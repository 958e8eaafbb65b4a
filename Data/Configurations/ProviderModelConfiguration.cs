using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class ProviderModelConfiguration : IEntityTypeConfiguration<ProviderModel>
{
    public void Configure(EntityTypeBuilder<ProviderModel> builder)
    {
        builder.ToTable("provider_models");
        builder.Property(m => m.Name).HasMaxLength(200);
        builder.HasIndex(m => new { m.ProviderId, m.Name }).IsUnique();
        builder.HasIndex(m => m.Name);
        builder.Property(m => m.InputPricePerMTok).HasPrecision(18, 6);
        builder.Property(m => m.OutputPricePerMTok).HasPrecision(18, 6);
        builder.Property(m => m.CachedInputPricePerMTok).HasPrecision(18, 6);
        builder.Property(m => m.BatchInputPricePerMTok).HasPrecision(18, 6);
        builder.Property(m => m.BatchOutputPricePerMTok).HasPrecision(18, 6);
    }
}
