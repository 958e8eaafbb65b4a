using System.Security.Cryptography;
using System.Text;

namespace AspireBatch.Data.KeyRing;

/// <summary>
/// The AES-256 key a key-ring secret stands for, derived with HKDF-SHA256, and a short public id of it so an entry
/// names the secret it was encrypted with (and a rotation knows which entries are still under an old one).
/// HKDF does not stretch: the secret must be random, not a password.
/// </summary>
internal sealed class KeyRingSecretKey
{
    // Both labels are part of the stored format: changing either makes every stored entry unreadable.
    private static readonly byte[] Salt = "AspireBatch.DataProtection.KeyRing"u8.ToArray();
    private static readonly byte[] KeyInfo = "AES-256-GCM key-ring encryption v1"u8.ToArray();
    private static readonly byte[] IdInfo = "key-ring secret id v1"u8.ToArray();

    private KeyRingSecretKey(byte[] key, string id)
    {
        Key = key;
        Id = id;
    }

    public byte[] Key { get; }

    /// <summary>16 hex characters; reveals nothing a ciphertext does not already let one check a guess against.</summary>
    public string Id { get; }

    public static KeyRingSecretKey Derive(string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var ikm = Encoding.UTF8.GetBytes(secret);
        try
        {
            var key = HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 32, Salt, KeyInfo);
            var id = Convert.ToHexStringLower(HKDF.DeriveKey(HashAlgorithmName.SHA256, ikm, 8, Salt, IdInfo));
            return new KeyRingSecretKey(key, id);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(ikm);
        }
    }

    /// <summary>Binds a ciphertext to the format and to the secret it names, so a swapped id fails to decrypt.</summary>
    public byte[] AssociatedData() => Encoding.UTF8.GetBytes("AspireBatch.KeyRing.v1:" + Id);
}
