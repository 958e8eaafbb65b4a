namespace AspireBatch.Data.Entities;

/// <summary>A recorded switch of a route's active target, automatic or by an operator.</summary>
public sealed class RollbackEvent
{
    public long Id { get; set; }
    public Guid RouteId { get; set; }
    public int FromPosition { get; set; }
    public int ToPosition { get; set; }
    public required string FromTarget { get; set; }
    public required string ToTarget { get; set; }
    public required string Reason { get; set; }
    public bool Automatic { get; set; }
    /// <summary>The window figures that triggered the switch, as JSON.</summary>
    public string? Figures { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
}
