using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class ModelAliasConfiguration : IEntityTypeConfiguration<ModelAlias>
{
    public void Configure(EntityTypeBuilder<ModelAlias> builder)
    {
        builder.ToTable("model_aliases");
        builder.HasKey(a => a.Alias);
        builder.Property(a => a.Alias).HasMaxLength(200);
        builder.Property(a => a.ModelName).HasMaxLength(200);
    }
}
