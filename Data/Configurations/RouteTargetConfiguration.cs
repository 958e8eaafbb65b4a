using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class RouteTargetConfiguration : IEntityTypeConfiguration<RouteTarget>
{
    public void Configure(EntityTypeBuilder<RouteTarget> builder)
    {
        builder.ToTable("route_targets");
        builder.Property(t => t.ModelName).HasMaxLength(200);
        builder.HasIndex(t => new { t.RouteId, t.Position }).IsUnique();
        // A provider in use by a route cannot disappear under it.
        builder.HasOne(t => t.Provider).WithMany().HasForeignKey(t => t.ProviderId).OnDelete(DeleteBehavior.Restrict);
    }
}
