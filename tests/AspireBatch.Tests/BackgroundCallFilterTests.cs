using System.Diagnostics;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace AspireBatch.Tests;

/// <summary>Background database and Redis calls stay out of the exported traces; the same calls inside an operation stay in.</summary>
public sealed class BackgroundCallFilterTests
{
    [Fact]
    public void Root_client_calls_are_dropped_and_children_kept()
    {
        using var npgsql = new ActivitySource("Npgsql");
        using var redis = new ActivitySource("OpenTelemetry.Instrumentation.StackExchangeRedis");
        using var product = new ActivitySource("AspireBatch");
        var exported = new List<Activity>();
        using (var tracing = Sdk.CreateTracerProviderBuilder()
            .AddSource("Npgsql", "OpenTelemetry.Instrumentation.StackExchangeRedis", "AspireBatch")
            .AddProcessor(new BackgroundCallFilter())
            .AddInMemoryExporter(exported)
            .Build())
        {
            using (npgsql.StartActivity("poll jobs"))
            {
            }
            using (redis.StartActivity("renew leader lock"))
            {
            }
            using (product.StartActivity("process item"))
            {
                using (npgsql.StartActivity("write result"))
                {
                }
                using (redis.StartActivity("take rate limit"))
                {
                }
            }
            tracing.ForceFlush();
        }

        Assert.Equal(["write result", "take rate limit", "process item"], exported.Select(a => a.DisplayName));
    }
}
