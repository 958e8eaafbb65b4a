using AspireBatch.Data.KeyRing;
using AspireBatch.Data.Lifecycle;
using AspireBatch.Data.Live;
using AspireBatch.Data.Services;
using Microsoft.Extensions.DependencyInjection.Extensions;
using System.Security.Cryptography.X509Certificates;
using AspireBatch.Data.Entities;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AspireBatch.Data;

public static class DataExtensions
{
    public const string DatabaseName = "batchdb";

    /// <summary>
    /// EF Core for the model, a raw data source for the hot path, and Data Protection keys shared in Postgres,
    /// encrypted at rest with the key-ring secret (or a certificate): a dump of the database alone decrypts nothing.
    /// </summary>
    public static IHostApplicationBuilder AddBatchData(this IHostApplicationBuilder builder)
    {
        builder.AddBatchDbContext();
        builder.AddNpgsqlDataSource(DatabaseName);
        builder.Services.AddDataProtection()
            .SetApplicationName("AspireBatch")
            .PersistKeysToDbContext<BatchDbContext>()
            .ProtectKeysWithKeyRing(builder.Configuration);
        builder.Services.AddSingleton<ProviderKeyProtector>();
        builder.Services.AddSingleton<JobLifecycle>();
        builder.Services.AddSingleton<ItemLifecycle>();
        builder.Services.AddSingleton<ProviderBatchLifecycle>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>
    /// Operator accounts: ASP.NET Core Identity over the same database, with its default password rules and lockout
    /// (5 failed sign-ins lock an account for 5 minutes).
    /// </summary>
    public static IdentityBuilder AddOperatorAccounts(this IServiceCollection services) =>
        services.AddIdentityCore<OperatorAccount>(options =>
            {
                options.Lockout.AllowedForNewUsers = true;
                options.User.RequireUniqueEmail = false;
            })
            .AddRoles<IdentityRole<Guid>>()
            .AddEntityFrameworkStores<BatchDbContext>();

    /// <summary>
    /// The EF Core model alone, without Data Protection: for the Migrator's wait mode, which only reads the migrations
    /// history (a service with Data Protection but without the key ring's certificate would add a plain key of its own).
    /// </summary>
    public static IHostApplicationBuilder AddBatchDbContext(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDbContext<BatchDbContext>(DatabaseName, configureDbContextOptions: BatchDbContext.Configure);
        return builder;
    }

    /// <summary>State every service shares through Redis: target windows, circuits, health, and route switches.</summary>
    public static IHostApplicationBuilder AddLiveState(this IHostApplicationBuilder builder)
    {
        builder.AddResilientRedisClient("redis");
        builder.Services.AddSingleton<TargetWindow>();
        builder.Services.AddSingleton<ProviderState>();
        builder.Services.AddSingleton<LivePublisher>();
        builder.Services.AddOptions<RollbackOptions>().BindConfiguration("Rollback");
        builder.Services.AddHttpClient(RouteSwitcher.WebhookClient);
        builder.Services.AddScoped<RouteSwitcher>();
        return builder;
    }

    /// <summary>The /models probe, on a client without the default retry handler: a probe reports what one call does.</summary>
    public static IHostApplicationBuilder AddModelListProbe(this IHostApplicationBuilder builder)
    {
#pragma warning disable EXTEXP0001 // Removing the default resilience handler is the documented way to opt one client out.
        builder.Services.AddHttpClient(ModelListProbe.HttpClientName).RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        builder.Services.AddSingleton<ModelListProbe>();
        return builder;
    }
}
