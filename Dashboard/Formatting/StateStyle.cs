using AspireBatch.Contracts;
using MudBlazor;

namespace AspireBatch.Dashboard.Formatting;

/// <summary>How a state looks in a chip: colour, label and a lower-case name for tests and CSS.</summary>
public sealed record StateStyle(Color Color, string Label, string Name, string Icon)
{
    public static StateStyle For(JobState state) => state switch
    {
        JobState.Queued => new(Color.Info, "Queued", "queued", Icons.Material.Filled.Schedule),
        JobState.Running => new(Color.Primary, "Running", "running", Icons.Material.Filled.PlayArrow),
        JobState.Paused => new(Color.Warning, "Paused", "paused", Icons.Material.Filled.Pause),
        JobState.Completed => new(Color.Success, "Completed", "completed", Icons.Material.Filled.CheckCircle),
        JobState.Failed => new(Color.Error, "Failed", "failed", Icons.Material.Filled.Error),
        JobState.Cancelled => new(Color.Dark, "Cancelled", "cancelled", Icons.Material.Filled.Cancel),
        _ => new(Color.Default, state.ToString(), state.ToString().ToLowerInvariant(), Icons.Material.Filled.Help),
    };

    public static StateStyle For(ItemState state) => state switch
    {
        ItemState.Pending => new(Color.Default, "Pending", "pending", Icons.Material.Filled.HourglassEmpty),
        ItemState.Running => new(Color.Primary, "Running", "running", Icons.Material.Filled.PlayArrow),
        ItemState.Succeeded => new(Color.Success, "Succeeded", "succeeded", Icons.Material.Filled.CheckCircle),
        ItemState.Failed => new(Color.Error, "Failed", "failed", Icons.Material.Filled.Error),
        ItemState.Cancelled => new(Color.Dark, "Cancelled", "cancelled", Icons.Material.Filled.Cancel),
        _ => new(Color.Default, state.ToString(), state.ToString().ToLowerInvariant(), Icons.Material.Filled.Help),
    };

    public static StateStyle For(RehearsalState state) => state switch
    {
        RehearsalState.Running => new(Color.Primary, "Running", "running", Icons.Material.Filled.PlayArrow),
        RehearsalState.Paused => new(Color.Warning, "Paused", "paused", Icons.Material.Filled.Pause),
        RehearsalState.Completed => new(Color.Success, "Completed", "completed", Icons.Material.Filled.CheckCircle),
        RehearsalState.Cancelled => new(Color.Dark, "Cancelled", "cancelled", Icons.Material.Filled.Cancel),
        _ => new(Color.Default, state.ToString(), state.ToString().ToLowerInvariant(), Icons.Material.Filled.Help),
    };
}
