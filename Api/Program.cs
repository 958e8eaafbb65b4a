using AspireBatch.Api.Apis;
using AspireBatch.Api.Infrastructure;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();
app.UseApiDefaults();
app.MapDefaultEndpoints();
app.MapProvidersApi();
app.MapRoutesApi();
app.MapJobsApi();
app.MapRetentionApi();
app.MapJobChartsApi();
app.MapProviderBatchesApi();
app.MapRehearsalsApi();
app.MapStatsApi();
app.MapOpenAiBatchApi();
app.MapKeysApi();
app.MapAuditApi();
app.MapAccountsApi();

app.Run();
