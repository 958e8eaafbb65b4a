namespace AspireBatch.Dashboard.Infrastructure;

public static class OperatorCredentials
{
    /// <summary>The operator's Api token, kept in the (encrypted) sign-in cookie; never sent to the browser in the clear.</summary>
    public const string AccessTokenClaim = "aspirebatch:access-token";

    /// <summary>Only local paths are followed after sign-in, so a crafted link cannot send the operator elsewhere.</summary>
    public static string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//") && !returnUrl.StartsWith("/\\")
            ? returnUrl
            : "/";
}
