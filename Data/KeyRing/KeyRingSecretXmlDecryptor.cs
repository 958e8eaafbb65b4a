using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AspireBatch.Data.KeyRing;

/// <summary>
/// Decrypts what <see cref="KeyRingSecretXmlEncryptor"/> wrote, with the current key-ring secret or one of the previous
/// ones (the entry names its secret by id). The framework creates it from the stored decryptorType through the
/// <see cref="IServiceProvider"/> constructor, so its full name and assembly are part of the stored format: do not
/// rename or move it.
/// </summary>
public sealed class KeyRingSecretXmlDecryptor : IXmlDecryptor
{
    private readonly KeyRingSecretKey[] _keys;

    public KeyRingSecretXmlDecryptor(IServiceProvider services)
        : this(services.GetService<IOptions<KeyRingOptions>>()?.Value ?? new KeyRingOptions())
    {
    }

    public KeyRingSecretXmlDecryptor(KeyRingOptions options) =>
        _keys = options.AllSecrets().Select(KeyRingSecretKey.Derive).ToArray();

    public XElement Decrypt(XElement encryptedElement)
    {
        ArgumentNullException.ThrowIfNull(encryptedElement);
        if (encryptedElement.Name != KeyRingSecretXmlEncryptor.ElementName
            || (string?)encryptedElement.Attribute(KeyRingSecretXmlEncryptor.AlgorithmAttribute) != KeyRingSecretXmlEncryptor.Algorithm)
        {
            throw new CryptographicException($"Not a key-ring entry encrypted with {KeyRingSecretXmlEncryptor.Algorithm}.");
        }
        var secretId = (string?)encryptedElement.Attribute(KeyRingSecretXmlEncryptor.SecretIdAttribute);
        var key = _keys.FirstOrDefault(k => k.Id == secretId) ?? throw new CryptographicException(_keys.Length == 0
            ? $"A key-ring entry is encrypted with key-ring secret {secretId}, and no key-ring secret is configured (DataProtection:KeyRingSecret)."
            : $"A key-ring entry is encrypted with key-ring secret {secretId}, which is neither DataProtection:KeyRingSecret ({_keys[0].Id}) " +
              "nor one of DataProtection:PreviousKeyRingSecrets: if the secret was changed, give the old one as a previous secret " +
              "(AppHost parameter keyring-previous-secret) until the Migrator has re-encrypted the key ring.");

        byte[] sealedBox;
        try
        {
            sealedBox = Convert.FromBase64String((string?)encryptedElement.Element("value") ?? "");
        }
        catch (FormatException e)
        {
            throw new CryptographicException("A key-ring entry's value is not base64.", e);
        }
        const int overhead = KeyRingSecretXmlEncryptor.NonceSize + KeyRingSecretXmlEncryptor.TagSize;
        if (sealedBox.Length <= overhead)
        {
            throw new CryptographicException("A key-ring entry's value is too short.");
        }

        var plaintext = new byte[sealedBox.Length - overhead];
        try
        {
            using var aes = new AesGcm(key.Key, KeyRingSecretXmlEncryptor.TagSize);
            aes.Decrypt(
                sealedBox.AsSpan(0, KeyRingSecretXmlEncryptor.NonceSize),
                sealedBox.AsSpan(overhead),
                sealedBox.AsSpan(KeyRingSecretXmlEncryptor.NonceSize, KeyRingSecretXmlEncryptor.TagSize),
                plaintext,
                key.AssociatedData());
            using var stream = new MemoryStream(plaintext, writable: false);
            return XElement.Load(stream);
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new CryptographicException($"A key-ring entry does not decrypt with key-ring secret {secretId}: it was altered.", e);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(plaintext);
        }
    }
}
