namespace AspireBatch.Data.Seeding;

/// <summary>Providers the AppHost registers at start (the simulators), so a fresh stack runs without keys.</summary>
public sealed class SeedOptions
{
    public List<SeedProvider> Providers { get; set; } = [];

    /// <summary>The first admin account (AppHost parameters operator-user and operator-password), created when no account has the name.</summary>
    public SeedAdmin? Admin { get; set; }
}

public sealed class SeedAdmin
{
    public string User { get; set; } = "";
    public string Password { get; set; } = "";
}

public sealed class SeedProvider
{
    public string Name { get; set; } = "";
    public string BaseUrl { get; set; } = "";
    public string? ApiKey { get; set; }
}
