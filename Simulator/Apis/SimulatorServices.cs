using AspireBatch.Simulator.Services;

namespace AspireBatch.Simulator.Apis;

/// <summary>The dependencies of the endpoint handlers, bound with [AsParameters].</summary>
public sealed record SimulatorServices(
    SimulatorRuntime Runtime,
    RateLimiter RateLimiter,
    SimulatorCounters Counters,
    ResponseCorpus Corpus,
    TimeProvider Time,
    IHostApplicationLifetime Lifetime);
