using System.Text.Json;
using AspireBatch.Simulator.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Simulator.Apis;

/// <summary>
/// Run-time control of the simulator for the AppHost, tests and benchmarks. It has NO authentication: the simulator is a
/// development tool and this API must never be exposed beyond a developer machine or a test network.
/// </summary>
public static class AdminApi
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/admin").WithTags("Admin");

        admin.MapGet("/config", GetConfig)
            .WithName("GetSimulatorConfig")
            .WithSummary("Returns the settings in force (the API key excepted)");

        admin.MapPut("/config", UpdateConfig)
            .WithName("UpdateSimulatorConfig")
            .WithSummary("Changes the fields present in the body; rejects invalid values with a validation problem");

        admin.MapGet("/stats", GetStats)
            .WithName("GetSimulatorStats")
            .WithSummary("Returns the counters of the /v1 API");

        admin.MapGet("/corpus", ListCorpus)
            .WithName("ListSimulatorCorpus")
            .WithSummary("Lists the recorded provider response shapes a [[corpus:<name>]] marker or CorpusRate replays");

        admin.MapPost("/reset", Reset)
            .WithName("ResetSimulator")
            .WithSummary("Zeroes the counters, empties the rate-limit windows and restarts the seeded fault sequence");

        return app;
    }

    public static Ok<SimulatorOptions> GetConfig([AsParameters] SimulatorServices services) =>
        TypedResults.Ok(services.Runtime.Current);

    public static async Task<Results<Ok<SimulatorOptions>, ValidationProblem>> UpdateConfig(
        HttpRequest request,
        [AsParameters] SimulatorServices services)
    {
        SimulatorConfigPatch? patch;
        try
        {
            patch = await request.ReadFromJsonAsync<SimulatorConfigPatch>(request.HttpContext.RequestAborted);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = [ex.Message] });
        }

        if (patch is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["body"] = ["The body must be a JSON object."] });
        }

        var errors = services.Runtime.TryUpdate(patch, out var updated);
        return errors is null ? TypedResults.Ok(updated) : TypedResults.ValidationProblem(errors);
    }

    public static Ok<SimulatorStats> GetStats([AsParameters] SimulatorServices services) =>
        TypedResults.Ok(services.Counters.Snapshot());

    public static Ok<CorpusEntrySummary[]> ListCorpus([AsParameters] SimulatorServices services) =>
        TypedResults.Ok(services.Corpus.Entries.Select(e => new CorpusEntrySummary(e.Name, e.Provider, e.Status, e.Source)).ToArray());

    public static NoContent Reset([AsParameters] SimulatorServices services)
    {
        services.Counters.Reset();
        services.RateLimiter.Reset();
        services.Runtime.ResetFaultSequence();
        return TypedResults.NoContent();
    }
}
