using AspireBatch.Simulator.Services;

namespace AspireBatch.Simulator.Apis;

/// <summary>The dependencies of the Files and Batch handlers, bound with [AsParameters].</summary>
public sealed record BatchServices(FileStore Files, BatchStore Batches, SimulatorRuntime Runtime);
