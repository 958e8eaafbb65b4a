using System.Diagnostics;
using AspireBatch.Data;
using AspireBatch.Data.KeyRing;
using AspireBatch.Data.Seeding;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace AspireBatch.Migrator;

/// <summary>
/// Applies migrations, encrypts what of the key ring is still readable from a dump (plain XML from before the ring
/// was encrypted, or under a previous key-ring secret) and seeds the catalog, then exits; Api and Worker wait for it
/// to complete, so they never start on a key ring they cannot read. With Migrator__Mode=Wait it only waits until
/// someone else has applied them (see <see cref="MigratorMode.Wait"/>).
/// </summary>
internal sealed class MigrationService(
    IServiceProvider services,
    IOptions<SeedOptions> seed,
    IOptions<MigratorOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<MigrationService> logger) : BackgroundService
{
    private static readonly ActivitySource Source = new(Extensions.TelemetryName);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Mode == MigratorMode.Wait)
        {
            await WaitForMigrationsAsync(stoppingToken);
            lifetime.StopApplication();
            return;
        }
        using var activity = Source.StartActivity("migrate database");
        try
        {
            await using var scope = services.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<BatchDbContext>();
            // The database server may still be warming up; EF's execution strategy retries transient failures.
            await db.Database.MigrateAsync(stoppingToken);
            // Before seeding: the seeder protects the simulators' keys, which loads the key ring.
            await scope.ServiceProvider.GetRequiredService<KeyRingReprotector>().ReprotectAsync(stoppingToken);
            await scope.ServiceProvider.GetRequiredService<CatalogSeeder>().SeedAsync(seed.Value, stoppingToken);
            await scope.ServiceProvider.GetRequiredService<AccountSeeder>().SeedAsync(seed.Value.Admin, stoppingToken);
            logger.LogInformation("Database migrated and catalog seeded ({Providers} seeded providers)", seed.Value.Providers.Count);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            activity?.AddException(e);
            logger.LogError(e, "Migration failed");
            Environment.ExitCode = 1;
        }
        lifetime.StopApplication();
    }

    private async Task WaitForMigrationsAsync(CancellationToken stoppingToken)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(options.Value.WaitSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var scope = services.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<BatchDbContext>();
                var pending = (await db.Database.GetPendingMigrationsAsync(stoppingToken)).ToList();
                if (pending.Count == 0)
                {
                    logger.LogInformation("Database schema is current");
                    return;
                }
                logger.LogInformation("Waiting for {Count} migrations to be applied (the first: {Migration})", pending.Count, pending[0]);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogInformation("Waiting for the database: {Error}", e.Message);
            }
            if (DateTimeOffset.UtcNow > deadline)
            {
                logger.LogError("The database schema was not current after {Seconds} s", options.Value.WaitSeconds);
                Environment.ExitCode = 1;
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
        }
    }
}
