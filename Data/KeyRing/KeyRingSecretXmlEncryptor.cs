using System.Security.Cryptography;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;

namespace AspireBatch.Data.KeyRing;

/// <summary>
/// Encrypts a key's secret XML (the framework hands over its <c>masterKey</c> element) with AES-256-GCM under the
/// key-ring secret. The framework wraps the result in <c>encryptedSecret decryptorType="…KeyRingSecretXmlDecryptor"</c>:
/// <code>
/// &lt;encryptedKey secretId="0123456789abcdef" algorithm="AES-256-GCM+HKDF-SHA256"&gt;
///   &lt;value&gt;base64(nonce ‖ tag ‖ ciphertext)&lt;/value&gt;
/// &lt;/encryptedKey&gt;
/// </code>
/// </summary>
public sealed class KeyRingSecretXmlEncryptor : IXmlEncryptor
{
    internal const string ElementName = "encryptedKey";
    internal const string SecretIdAttribute = "secretId";
    internal const string AlgorithmAttribute = "algorithm";
    internal const string Algorithm = "AES-256-GCM+HKDF-SHA256";
    internal const int NonceSize = 12;
    internal const int TagSize = 16;

    private readonly KeyRingSecretKey _key;

    public KeyRingSecretXmlEncryptor(KeyRingOptions options)
    {
        if (string.IsNullOrEmpty(options.KeyRingSecret))
        {
            throw new InvalidOperationException("DataProtection:KeyRingSecret is missing: the key ring cannot be encrypted.");
        }
        _key = KeyRingSecretKey.Derive(options.KeyRingSecret);
    }

    /// <summary>The id of the secret new entries are encrypted with.</summary>
    public string SecretId => _key.Id;

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        ArgumentNullException.ThrowIfNull(plaintextElement);
        using var buffer = new MemoryStream();
        plaintextElement.Save(buffer, SaveOptions.DisableFormatting);
        var plaintext = buffer.GetBuffer().AsSpan(0, (int)buffer.Length);
        var sealedBox = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = sealedBox.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        try
        {
            using var aes = new AesGcm(_key.Key, TagSize);
            aes.Encrypt(nonce, plaintext, sealedBox.AsSpan(NonceSize + TagSize), sealedBox.AsSpan(NonceSize, TagSize), _key.AssociatedData());
        }
        finally
        {
            CryptographicOperations.ZeroMemory(buffer.GetBuffer());
        }

        var element = new XElement(ElementName,
            new XAttribute(SecretIdAttribute, _key.Id),
            new XAttribute(AlgorithmAttribute, Algorithm),
            new XComment(" Encrypted with the key-ring secret (DataProtection:KeyRingSecret) named by secretId. "),
            new XElement("value", Convert.ToBase64String(sealedBox)));
        return new EncryptedXmlInfo(element, typeof(KeyRingSecretXmlDecryptor));
    }

    /// <summary>Whether an <c>encryptedKey</c> element is already under this encryptor's secret.</summary>
    internal bool IsCurrent(XElement encryptedKey) => (string?)encryptedKey.Attribute(SecretIdAttribute) == _key.Id;
}
