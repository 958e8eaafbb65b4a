using AspireBatch.Data.Services;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AspireBatch.Data;

public static class DataExtensions
{
    public const string DatabaseName = "batchdb";

    /// <summary>EF Core for the model, a raw data source for the hot path, and Data Protection keys shared in Postgres.</summary>
    public static IHostApplicationBuilder AddBatchData(this IHostApplicationBuilder builder)
    {
        builder.AddNpgsqlDbContext<BatchDbContext>(DatabaseName, configureDbContextOptions: BatchDbContext.Configure);
        builder.AddNpgsqlDataSource(DatabaseName);
        builder.Services.AddDataProtection()
            .SetApplicationName("AspireBatch")
            .PersistKeysToDbContext<BatchDbContext>();
        builder.Services.AddSingleton<ProviderKeyProtector>();
        return builder;
    }
}
