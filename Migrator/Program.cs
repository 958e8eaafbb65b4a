using AspireBatch.Data;
using AspireBatch.Data.Seeding;
using AspireBatch.Migrator;

var builder = Host.CreateApplicationBuilder(args);
builder.AddServiceDefaults();
builder.AddBatchData();
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddScoped<CatalogSeeder>();
builder.Services.AddOptions<SeedOptions>().BindConfiguration("Seed");
builder.Services.AddOptions<MigratorOptions>().BindConfiguration("Migrator").ValidateDataAnnotations().ValidateOnStart();
builder.Services.AddHostedService<MigrationService>();

builder.Build().Run();
