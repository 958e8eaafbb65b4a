using MudBlazor;

namespace AspireBatch.Dashboard.Components.Shared;

public static class DialogServiceExtensions
{
    /// <summary>Asks for confirmation; null when the operator cancelled, otherwise the reason (empty unless asked for).</summary>
    public static async Task<string?> ConfirmAsync(this IDialogService dialogs, string title, string message, string yesText,
        bool destructive = true, bool askReason = false, string? reason = null)
    {
        var parameters = new DialogParameters<ConfirmDialog>
        {
            { d => d.Title, title },
            { d => d.Message, message },
            { d => d.YesText, yesText },
            { d => d.Destructive, destructive },
            { d => d.AskReason, askReason },
            { d => d.Reason, reason },
        };
        var dialog = await dialogs.ShowAsync<ConfirmDialog>(title, parameters, new DialogOptions { MaxWidth = MaxWidth.Small, FullWidth = true, CloseOnEscapeKey = true });
        var result = await dialog.Result;
        return result is { Canceled: false, Data: string text } ? text : null;
    }
}
