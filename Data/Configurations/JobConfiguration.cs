using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace AspireBatch.Data.Configurations;

internal sealed class JobConfiguration : IEntityTypeConfiguration<Job>
{
    public void Configure(EntityTypeBuilder<Job> builder)
    {
        builder.ToTable("jobs");
        builder.Property(j => j.Name).HasMaxLength(200);
        builder.Property(j => j.RequestedModel).HasMaxLength(200);
        builder.Property(j => j.ModelName).HasMaxLength(200);
        builder.Property(j => j.ResponseFormat).HasColumnType("jsonb");
        builder.Property(j => j.Metadata).HasColumnType("jsonb");
        builder.Property(j => j.CostUsd).HasPrecision(20, 10);
        builder.Property(j => j.EstimatedUsageCostUsd).HasPrecision(20, 10);
        builder.Property(j => j.InDoubtCostUsd).HasPrecision(20, 10);
        builder.Property(j => j.EstimatedCostBoundUsd).HasPrecision(20, 10);
        builder.Property(j => j.BudgetUsd).HasPrecision(20, 10);
        builder.HasIndex(j => j.State);
        builder.Property(j => j.Team).HasMaxLength(100).HasDefaultValue(Contracts.ApiScopes.AdminTeam);
        // A team's job list, newest first, and a key's spend this month.
        builder.HasIndex(j => new { j.Team, j.CreatedAt });
        builder.HasIndex(j => new { j.ApiKeyId, j.CreatedAt }).HasFilter("api_key_id IS NOT NULL");
        builder.HasIndex(j => j.CreatedAt);
        builder.Property(j => j.TemplateHash).HasMaxLength(64);
        builder.Property(j => j.ParametersHash).HasMaxLength(64);
        builder.HasIndex(j => j.RehearsalId).HasFilter("rehearsal_id IS NOT NULL");
        builder.Property(j => j.IdempotencyKey).HasMaxLength(200);
        builder.HasIndex(j => new { j.IdempotencyKey, j.IsBatch }).IsUnique().HasFilter("idempotency_key IS NOT NULL").HasDatabaseName(Job.IdempotencyKeyIndex);
        builder.HasOne<Route>().WithMany().HasForeignKey(j => j.RouteId).OnDelete(DeleteBehavior.Restrict);
        builder.HasOne<Provider>().WithMany().HasForeignKey(j => j.ProviderId).OnDelete(DeleteBehavior.Restrict);
    }
}
