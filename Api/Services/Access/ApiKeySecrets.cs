using System.Security.Cryptography;
using System.Text;

namespace AspireBatch.Api.Services.Access;

/// <summary>A key's secret: "abk_" and 32 random bytes in base64url. Only its SHA-256 is stored.</summary>
public static class ApiKeySecrets
{
    public const string Marker = "abk_";
    private const int PrefixLength = 12;

    public static string New() => Marker + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] Hash(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>What lists show of a key: its first characters, enough to tell it apart, far too few to guess it.</summary>
    public static string Prefix(string secret) => secret[..Math.Min(PrefixLength, secret.Length)];
}
