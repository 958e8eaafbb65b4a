using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class RollbackEventConfiguration : IEntityTypeConfiguration<RollbackEvent>
{
    public void Configure(EntityTypeBuilder<RollbackEvent> builder)
    {
        builder.ToTable("rollback_events");
        builder.Property(e => e.Figures).HasColumnType("jsonb");
        builder.HasIndex(e => new { e.RouteId, e.CreatedAt });
        builder.HasOne<Rehearsal>().WithMany().HasForeignKey(e => e.RehearsalId).OnDelete(DeleteBehavior.SetNull);
        builder.HasOne<Route>().WithMany().HasForeignKey(e => e.RouteId).OnDelete(DeleteBehavior.Cascade);
    }
}
