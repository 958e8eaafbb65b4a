using Microsoft.AspNetCore.DataProtection;

namespace AspireBatch.Data.Services;

/// <summary>Encrypts provider keys at rest. Keys of the protector live in Postgres, shared by every service.</summary>
public sealed class ProviderKeyProtector(IDataProtectionProvider provider)
{
    private readonly IDataProtector _protector = provider.CreateProtector("AspireBatch.ProviderKeys.v1");

    public string Protect(string key) => _protector.Protect(key);

    public string Unprotect(string encrypted) => _protector.Unprotect(encrypted);

    public static string LastFour(string key) => key.Length <= 4 ? key : key[^4..];
}
