namespace AspireBatch.Data.Seeding;

/// <summary>Providers the AppHost registers at start (the simulators), so a fresh stack runs without keys.</summary>
public sealed class SeedOptions
{
    public List<SeedProvider> Providers { get; set; } = [];
}

public sealed class SeedProvider
{
    public string Name { get; set; } = "";
    public string BaseUrl { get; set; } = "";
    public string? ApiKey { get; set; }
}
