using AspireBatch.Contracts;

namespace AspireBatch.Data.Entities;

/// <summary>A recorded change of where a route sends its calls: a switch of its active target, a canary stopped, an adoption.</summary>
public sealed class RollbackEvent
{
    public long Id { get; set; }
    public Guid RouteId { get; set; }
    public int FromPosition { get; set; }
    public int ToPosition { get; set; }
    public required string FromTarget { get; set; }
    public required string ToTarget { get; set; }
    public required string Reason { get; set; }
    public RouteEventKind Kind { get; set; }
    /// <summary>For an adoption: the rehearsal whose measurements it came from.</summary>
    public Guid? RehearsalId { get; set; }
    public bool Automatic { get; set; }
    /// <summary>The window figures that triggered the switch, as JSON.</summary>
    public string? Figures { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
