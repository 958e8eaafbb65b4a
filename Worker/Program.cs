using AspireBatch.Worker;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddWorkerServices();
// SIGTERM to exit within 10 s, even with Postgres gone: the engine gives calls 3 s, the result writer drains until
// 1 s before this, then gives up (unwritten results leave their items leased; the sweeper returns them).
builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(9));
// Disposing the host flushes telemetry; with the collector gone each export would wait its 10 s default.
if (builder.Configuration["OTEL_EXPORTER_OTLP_TIMEOUT"] is null)
{
    builder.Configuration.AddInMemoryCollection([new("OTEL_EXPORTER_OTLP_TIMEOUT", "1000")]);
}

var app = builder.Build();
app.MapDefaultEndpoints();

app.Run();
