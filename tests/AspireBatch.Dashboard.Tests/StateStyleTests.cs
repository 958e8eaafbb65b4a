using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Shared;
using AspireBatch.Dashboard.Formatting;
using MudBlazor;

namespace AspireBatch.Dashboard.Tests;

public sealed class StateStyleTests : DashboardContext
{
    [Theory]
    [InlineData(JobState.Queued, Color.Info, "Queued")]
    [InlineData(JobState.Running, Color.Primary, "Running")]
    [InlineData(JobState.Paused, Color.Warning, "Paused")]
    [InlineData(JobState.Completed, Color.Success, "Completed")]
    [InlineData(JobState.Failed, Color.Error, "Failed")]
    [InlineData(JobState.Cancelled, Color.Dark, "Cancelled")]
    public void Job_states_have_a_colour_and_label(JobState state, Color color, string label)
    {
        var style = StateStyle.For(state);
        Assert.Equal(color, style.Color);
        Assert.Equal(label, style.Label);
        Assert.Equal(label.ToLowerInvariant(), style.Name);
    }

    [Theory]
    [InlineData(ItemState.Pending, Color.Default)]
    [InlineData(ItemState.Running, Color.Primary)]
    [InlineData(ItemState.Succeeded, Color.Success)]
    [InlineData(ItemState.Failed, Color.Error)]
    [InlineData(ItemState.Cancelled, Color.Dark)]
    public void Item_states_have_a_colour(ItemState state, Color color) => Assert.Equal(color, StateStyle.For(state).Color);

    [Fact]
    public void Every_state_has_a_distinct_name()
    {
        Assert.Equal(Enum.GetValues<JobState>().Length, Enum.GetValues<JobState>().Select(s => StateStyle.For(s).Name).Distinct().Count());
        Assert.Equal(Enum.GetValues<ItemState>().Length, Enum.GetValues<ItemState>().Select(s => StateStyle.For(s).Name).Distinct().Count());
    }

    [Fact]
    public void An_unknown_state_still_renders() => Assert.Equal("42", StateStyle.For((JobState)42).Label);

    [Fact]
    public void Job_chip_shows_label_colour_and_test_hooks()
    {
        var chip = Render<JobStateChip>(p => p.Add(c => c.State, JobState.Failed));
        var element = chip.Find("[data-testid=job-state]");
        Assert.Equal("failed", element.GetAttribute("data-state"));
        Assert.Contains("Failed", element.TextContent);
        Assert.Contains("mud-chip-color-error", element.ClassName);
    }

    [Fact]
    public void Item_chip_shows_its_state()
    {
        var chip = Render<ItemStateChip>(p => p.Add(c => c.State, ItemState.Succeeded));
        var element = chip.Find("[data-testid=item-state]");
        Assert.Equal("succeeded", element.GetAttribute("data-state"));
        Assert.Contains("Succeeded", element.TextContent);
    }
}
