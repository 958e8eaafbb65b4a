using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace AspireBatch.Worker.Execution;

/// <summary>The Worker's spans and metrics: GenAI semantic conventions for model calls, our own counters beside them.</summary>
public sealed class WorkerTelemetry : IDisposable
{
    public static readonly ActivitySource Source = new(Microsoft.Extensions.Hosting.Extensions.TelemetryName);
    private readonly Meter _meter;

    public WorkerTelemetry(IMeterFactory meters)
    {
        _meter = meters.Create(Microsoft.Extensions.Hosting.Extensions.TelemetryName);
        TokenUsage = _meter.CreateHistogram<long>("gen_ai.client.token.usage", "{token}", "Tokens used per model call");
        OperationDuration = _meter.CreateHistogram<double>("gen_ai.client.operation.duration", "s", "Duration of model calls");
        Retries = _meter.CreateCounter<long>("aspirebatch.retries", "{retry}", "Model calls retried");
        Fallbacks = _meter.CreateCounter<long>("aspirebatch.fallbacks", "{fallback}", "Items sent to a route's next target");
        RateLimited = _meter.CreateCounter<long>("aspirebatch.rate_limited", "{response}", "429 answers received from providers");
        SchemaReasks = _meter.CreateCounter<long>("aspirebatch.schema_reasks", "{call}", "Model calls asked again because the answer broke the JSON schema");
        Cost = _meter.CreateCounter<double>("aspirebatch.cost", "USD", "Cost of answered calls");
        ItemsCompleted = _meter.CreateCounter<long>("aspirebatch.items.completed", "{item}", "Items finished, by state");
    }

    public Histogram<long> TokenUsage { get; }
    public Histogram<double> OperationDuration { get; }
    public Counter<long> Retries { get; }
    public Counter<long> Fallbacks { get; }
    public Counter<long> RateLimited { get; }
    public Counter<long> SchemaReasks { get; }
    public Counter<double> Cost { get; }
    public Counter<long> ItemsCompleted { get; }

    public void Dispose() => _meter.Dispose();
}
