using System.Security.Cryptography;
using System.Text;

namespace AspireBatch.Dashboard.Infrastructure;

public static class OperatorCredentials
{
    /// <summary>
    /// Compares both fields in constant time: each side is hashed first so that neither the length
    /// nor the first differing character of the expected value shows in the timing.
    /// </summary>
    public static bool Matches(string? user, string? password, OperatorOptions expected)
    {
        var userOk = FixedTimeEquals(user ?? "", expected.User);
        var passwordOk = FixedTimeEquals(password ?? "", expected.Password);
        return userOk & passwordOk & expected.User.Length > 0 & expected.Password.Length > 0;
    }

    private static bool FixedTimeEquals(string given, string expected) =>
        CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(given)),
            SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    /// <summary>Only local paths are followed after sign-in, so a crafted link cannot send the operator elsewhere.</summary>
    public static string SafeReturnUrl(string? returnUrl) =>
        !string.IsNullOrEmpty(returnUrl) && returnUrl.StartsWith('/') && !returnUrl.StartsWith("//") && !returnUrl.StartsWith("/\\")
            ? returnUrl
            : "/";
}
