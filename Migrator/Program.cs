using AspireBatch.Data;
using AspireBatch.Data.KeyRing;
using AspireBatch.Data.Seeding;
using AspireBatch.Migrator;

var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddOptions<SeedOptions>().BindConfiguration("Seed");
builder.Services.AddOptions<MigratorOptions>().BindConfiguration("Migrator").ValidateDataAnnotations().ValidateOnStart();
if (builder.Configuration.GetValue<MigratorMode>("Migrator:Mode") == MigratorMode.Wait)
{
    // Waiting only reads the migrations history: no Data Protection, so it never adds a key to the ring. Until the
    // Job creates that history, EF logs each look at the missing table as a failed command; our own line says it.
    builder.AddBatchDbContext();
    builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.None);
}
else
{
    builder.AddBatchData();
    builder.Services.AddScoped<CatalogSeeder>();
    builder.Services.AddScoped<KeyRingReprotector>();
    builder.Services.AddOperatorAccounts();
    builder.Services.AddScoped<AccountSeeder>();
}
builder.Services.AddHostedService<MigrationService>();

builder.Build().Run();
