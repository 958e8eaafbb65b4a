using AspireBatch.Simulator;

// An OpenAI-compatible LLM provider simulator for development, tests and benchmarks. See README.md.
SimulatorApp.Build(args).Run();

public partial class Program;
