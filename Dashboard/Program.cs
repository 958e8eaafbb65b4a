using AspireBatch.Dashboard.Infrastructure;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddDashboardServices();

var app = builder.Build();
app.UseDashboardDefaults();
app.MapDefaultEndpoints();
app.MapAccountEndpoints();
app.MapExportEndpoint();
app.MapDashboardComponents();

app.Run();
