using System.ComponentModel.DataAnnotations;

namespace AspireBatch.Migrator;

public enum MigratorMode
{
    /// <summary>Apply migrations and seed the catalog, then exit (the AppHost's migrator, the Kubernetes Job, compose).</summary>
    Migrate,

    /// <summary>
    /// Change nothing: exit 0 once the database has every migration this build knows, so a service of the same
    /// version can start (the Kubernetes init container of the Api and the Worker). Exit 1 after WaitSeconds.
    /// </summary>
    Wait,
}

public sealed class MigratorOptions
{
    public MigratorMode Mode { get; set; } = MigratorMode.Migrate;

    [Range(1, 86_400)]
    public int WaitSeconds { get; set; } = 600;
}
