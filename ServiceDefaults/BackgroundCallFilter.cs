using System.Diagnostics;
using OpenTelemetry;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Drops database and Redis spans that belong to no request, item or switch: the Worker's polls, claims, lease
/// renewals, sweeps, result flushes and leader locks make several a second per worker, and exported they bury the
/// traces operators look for in the Aspire dashboard. The same calls made inside a traced operation stay, as its
/// children; failures of background calls are logged.
/// </summary>
public sealed class BackgroundCallFilter : BaseProcessor<Activity>
{
    private static readonly HashSet<string> ClientSources = ["Npgsql", "OpenTelemetry.Instrumentation.StackExchangeRedis"];

    public override void OnEnd(Activity data)
    {
        if (data.ParentSpanId == default && ClientSources.Contains(data.Source.Name))
        {
            // Export processors skip activities that are not recorded.
            data.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
        }
    }
}
