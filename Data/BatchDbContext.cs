using AspireBatch.Data.Entities;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace AspireBatch.Data;

/// <summary>The one database: the job engine's tables, the Data Protection key ring and the operators' accounts (ASP.NET Core Identity).</summary>
public sealed class BatchDbContext(DbContextOptions<BatchDbContext> options)
    : IdentityDbContext<OperatorAccount, IdentityRole<Guid>, Guid>(options), IDataProtectionKeyContext
{
    public DbSet<Provider> Providers => Set<Provider>();
    public DbSet<ProviderModel> ProviderModels => Set<ProviderModel>();
    public DbSet<ModelAlias> ModelAliases => Set<ModelAlias>();
    public DbSet<Route> Routes => Set<Route>();
    public DbSet<RouteTarget> RouteTargets => Set<RouteTarget>();
    public DbSet<RollbackEvent> RollbackEvents => Set<RollbackEvent>();
    public DbSet<Job> Jobs => Set<Job>();
    public DbSet<JobEvent> JobEvents => Set<JobEvent>();
    public DbSet<Item> Items => Set<Item>();
    public DbSet<Attempt> Attempts => Set<Attempt>();
    public DbSet<ProviderBatch> ProviderBatches => Set<ProviderBatch>();
    public DbSet<StoredFile> Files => Set<StoredFile>();
    public DbSet<Rehearsal> Rehearsals => Set<Rehearsal>();
    public DbSet<RehearsalTarget> RehearsalTargets => Set<RehearsalTarget>();
    public DbSet<ResponseCacheEntry> ResponseCache => Set<ResponseCacheEntry>();
    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();
    public DbSet<AuditEntry> AuditLog => Set<AuditEntry>();
    public DbSet<RetentionPolicy> RetentionPolicies => Set<RetentionPolicy>();
    /// <summary>Data Protection keys, shared by every service so each can read provider keys.</summary>
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        base.OnModelCreating(modelBuilder);
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(BatchDbContext).Assembly);
        // Identity's own tables, named like ours.
        modelBuilder.Entity<IdentityRole<Guid>>().ToTable("account_roles");
        modelBuilder.Entity<IdentityUserRole<Guid>>().ToTable("account_role_members");
        modelBuilder.Entity<IdentityUserClaim<Guid>>().ToTable("account_claims");
        modelBuilder.Entity<IdentityUserLogin<Guid>>().ToTable("account_logins");
        modelBuilder.Entity<IdentityUserToken<Guid>>().ToTable("account_tokens");
        modelBuilder.Entity<IdentityRoleClaim<Guid>>().ToTable("account_role_claims");
        modelBuilder.Entity<DataProtectionKey>().ToTable("data_protection_keys");
    }

    public static void Configure(DbContextOptionsBuilder options) => options.UseSnakeCaseNamingConvention();
}

/// <summary>Lets `dotnet ef migrations add` build the model without a running database.</summary>
internal sealed class DesignTimeFactory : IDesignTimeDbContextFactory<BatchDbContext>
{
    public BatchDbContext CreateDbContext(string[] args)
    {
        var options = new DbContextOptionsBuilder<BatchDbContext>().UseNpgsql("Host=localhost;Database=batchdb");
        BatchDbContext.Configure(options);
        return new BatchDbContext(options.Options);
    }
}
