using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Xml.Linq;
using AspireBatch.Data.KeyRing;
using AspireBatch.Data.Services;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AspireBatch.UnitTests;

/// <summary>
/// The key ring's encryption at rest (docs/security.md): AES-256-GCM under a key derived from the key-ring secret,
/// previous secrets still read, and the Migrator's re-encryption of entries from before (plain XML) or under an old secret.
/// </summary>
public sealed class KeyRingEncryptionTests
{
    private const string Secret = "unit-test-keyring-secret-0123456789abcdef";
    private const string OtherSecret = "another-keyring-secret-0123456789abcdef!";
    private const string ProviderKey = "sk-unit-test-provider-key-42";

    private static readonly XElement MasterKey = XElement.Parse(
        """<masterKey p4:requiresEncryption="true" xmlns:p4="http://schemas.asp.net/2015/03/dataProtection"><value>c2VjcmV0IGtleSBtYXRlcmlhbA==</value></masterKey>""");

    [Fact]
    public void What_the_encryptor_writes_the_decryptor_reads_back()
    {
        var info = new KeyRingSecretXmlEncryptor(Options(Secret)).Encrypt(MasterKey);

        Assert.Equal(typeof(KeyRingSecretXmlDecryptor), info.DecryptorType);
        Assert.Equal("encryptedKey", info.EncryptedElement.Name.LocalName);
        Assert.DoesNotContain("c2VjcmV0IGtleSBtYXRlcmlhbA==", info.EncryptedElement.ToString());
        Assert.DoesNotContain("masterKey", info.EncryptedElement.ToString());
        var decrypted = new KeyRingSecretXmlDecryptor(Options(Secret)).Decrypt(info.EncryptedElement);
        Assert.True(XNode.DeepEquals(MasterKey, decrypted), decrypted.ToString());
    }

    [Fact]
    public void Each_encryption_draws_its_own_nonce()
    {
        var encryptor = new KeyRingSecretXmlEncryptor(Options(Secret));
        Assert.NotEqual((string?)encryptor.Encrypt(MasterKey).EncryptedElement.Element("value"), (string?)encryptor.Encrypt(MasterKey).EncryptedElement.Element("value"));
    }

    [Fact]
    public void A_wrong_secret_or_none_does_not_decrypt_and_says_why()
    {
        var encrypted = new KeyRingSecretXmlEncryptor(Options(Secret)).Encrypt(MasterKey).EncryptedElement;
        var secretId = (string)encrypted.Attribute("secretId")!;

        var wrong = Assert.ThrowsAny<CryptographicException>(() => new KeyRingSecretXmlDecryptor(Options(OtherSecret)).Decrypt(encrypted));
        Assert.Contains(secretId, wrong.Message);
        Assert.Contains("PreviousKeyRingSecrets", wrong.Message);
        var none = Assert.ThrowsAny<CryptographicException>(() => new KeyRingSecretXmlDecryptor(new KeyRingOptions()).Decrypt(encrypted));
        Assert.Contains("no key-ring secret is configured", none.Message);
    }

    [Fact]
    public void An_altered_entry_does_not_decrypt()
    {
        var encrypted = new KeyRingSecretXmlEncryptor(Options(Secret)).Encrypt(MasterKey).EncryptedElement;
        var value = Convert.FromBase64String((string)encrypted.Element("value")!);
        value[^1] ^= 1;
        encrypted.Element("value")!.Value = Convert.ToBase64String(value);

        var e = Assert.ThrowsAny<CryptographicException>(() => new KeyRingSecretXmlDecryptor(Options(Secret)).Decrypt(encrypted));
        Assert.Contains("altered", e.Message);
    }

    [Fact]
    public void A_previous_secret_still_decrypts()
    {
        var encrypted = new KeyRingSecretXmlEncryptor(Options(OtherSecret)).Encrypt(MasterKey).EncryptedElement;

        var decrypted = new KeyRingSecretXmlDecryptor(Options(Secret, previous: OtherSecret)).Decrypt(encrypted);
        Assert.True(XNode.DeepEquals(MasterKey, decrypted));
    }

    [Fact]
    public void A_provider_key_protected_on_an_encrypted_ring_needs_the_secret_to_come_back()
    {
        var repository = new MemoryRepository();
        var protectedKey = Protect(repository, Secret, ProviderKey);

        var entry = Assert.Single(repository.Elements);
        Assert.False(KeyRingReprotector.HasSecretInClear(entry));
        Assert.Single(entry.Descendants("encryptedKey"));
        Assert.DoesNotContain(entry.Descendants(), e => e.Name.LocalName == "masterKey");

        Assert.Equal(ProviderKey, Unprotect(repository, protectedKey, Options(Secret)));
        Assert.ThrowsAny<CryptographicException>(() => Unprotect(repository, protectedKey, null));
        Assert.ThrowsAny<CryptographicException>(() => Unprotect(repository, protectedKey, Options(OtherSecret)));
    }

    [Fact]
    public void A_plain_ring_from_before_the_upgrade_is_reencrypted_once_and_still_decrypts_what_it_protected()
    {
        var repository = new MemoryRepository();
        var protectedKey = Protect(repository, secret: null, ProviderKey);
        var plain = Assert.Single(repository.Elements);
        Assert.True(KeyRingReprotector.HasSecretInClear(plain));

        var encryptor = new KeyRingSecretXmlEncryptor(Options(Secret));
        var decryptor = new KeyRingSecretXmlDecryptor(Options(Secret));
        var (reprotected, reason) = KeyRingReprotector.Reprotect(plain, encryptor, decryptor)!.Value;
        Assert.Contains("plain XML", reason);
        Assert.False(KeyRingReprotector.HasSecretInClear(reprotected));
        Assert.Equal((string?)plain.Attribute("id"), (string?)reprotected.Attribute("id"));
        Assert.Null(KeyRingReprotector.Reprotect(reprotected, encryptor, decryptor));

        repository.Elements[0] = reprotected;
        Assert.Equal(ProviderKey, Unprotect(repository, protectedKey, Options(Secret)));
        Assert.ThrowsAny<CryptographicException>(() => Unprotect(repository, protectedKey, null));
    }

    [Fact]
    public void A_ring_under_a_previous_secret_is_reencrypted_with_the_current_one()
    {
        var repository = new MemoryRepository();
        var protectedKey = Protect(repository, OtherSecret, ProviderKey);
        var rotated = Options(Secret, previous: OtherSecret);

        var encryptor = new KeyRingSecretXmlEncryptor(rotated);
        var (reprotected, reason) = KeyRingReprotector.Reprotect(repository.Elements[0], encryptor, new KeyRingSecretXmlDecryptor(rotated))!.Value;
        Assert.Contains("under key-ring secret", reason);
        Assert.Equal(encryptor.SecretId, (string?)reprotected.Descendants("encryptedKey").Single().Attribute("secretId"));

        repository.Elements[0] = reprotected;
        // The previous secret can be dropped once the Migrator has run.
        Assert.Equal(ProviderKey, Unprotect(repository, protectedKey, Options(Secret)));
        Assert.ThrowsAny<CryptographicException>(() => Unprotect(repository, protectedKey, Options(OtherSecret)));
    }

    [Fact]
    public void An_entry_under_an_unknown_secret_stops_the_reencryption_with_the_reason()
    {
        var repository = new MemoryRepository();
        Protect(repository, OtherSecret, ProviderKey);

        var e = Assert.ThrowsAny<CryptographicException>(() =>
            KeyRingReprotector.Reprotect(repository.Elements[0], new KeyRingSecretXmlEncryptor(Options(Secret)), new KeyRingSecretXmlDecryptor(Options(Secret))));
        Assert.Contains("keyring-previous-secret", e.Message);
    }

    [Fact]
    public void With_a_certificate_configured_new_keys_are_encrypted_with_it_and_plain_ones_are_reencrypted_with_it()
    {
        var pfx = Path.Combine(Path.GetTempPath(), $"keyring-{Guid.NewGuid():N}.pfx");
        using (var rsa = RSA.Create(2048))
        {
            var request = new CertificateRequest(
                "CN=AspireBatch key ring test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
            File.WriteAllBytes(pfx, certificate.Export(X509ContentType.Pfx, "pfx-password"));
        }
        try
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["DataProtection:CertificatePath"] = pfx,
                ["DataProtection:CertificatePassword"] = "pfx-password",
            }).Build();
            var repository = new MemoryRepository();
            var plainPayload = Protect(repository, secret: null, "sk-before-the-certificate");

            ServiceProvider CertificateRing(bool generateKeys)
            {
                AppContext.SetData("Microsoft.AspNetCore.DataProtection.KeyManagement.MaximumTotalDefaultKeyResolverRetries", 0);
                var services = new ServiceCollection();
                services.AddDataProtection()
                    .SetApplicationName("AspireBatch")
                    .AddKeyManagementOptions(o =>
                    {
                        o.XmlRepository = repository;
                        o.AutoGenerateKeys = generateKeys;
                    })
                    .ProtectKeysWithKeyRing(configuration);
                return services.BuildServiceProvider();
            }

            using var services = CertificateRing(generateKeys: true);
            var keyManagement = services.GetRequiredService<IOptions<KeyManagementOptions>>().Value;
            var (reprotected, _) = KeyRingReprotector.Reprotect(repository.Elements[0], keyManagement.XmlEncryptor!, new KeyRingSecretXmlDecryptor(new KeyRingOptions()))!.Value;
            Assert.False(KeyRingReprotector.HasSecretInClear(reprotected));
            Assert.Single(reprotected.Descendants(), e => e.Name.LocalName == "EncryptedData");
            repository.Elements[0] = reprotected;
            Assert.True(new KeyRingOptionsValidator().Validate(null, new KeyRingOptions { CertificatePath = pfx }).Succeeded);

            Assert.Equal("sk-before-the-certificate", Unprotect(repository, plainPayload, null, CertificateRing));
            Assert.ThrowsAny<CryptographicException>(() => Unprotect(repository, plainPayload, null));
        }
        finally
        {
            File.Delete(pfx);
        }
    }

    [Theory]
    [InlineData("", "is missing")]
    [InlineData("too-short-secret", "needs at least 32")]
    public void A_missing_or_short_secret_fails_validation_naming_the_parameter(string secret, string expected)
    {
        var result = new KeyRingOptionsValidator().Validate(null, new KeyRingOptions { KeyRingSecret = secret });
        Assert.True(result.Failed);
        Assert.Contains(expected, result.FailureMessage);
        Assert.Contains("keyring-secret", result.FailureMessage);
    }

    [Fact]
    public void A_short_previous_secret_fails_validation_and_a_long_secret_passes()
    {
        Assert.True(new KeyRingOptionsValidator().Validate(null, Options(Secret)).Succeeded);
        Assert.True(new KeyRingOptionsValidator().Validate(null, Options(Secret, previous: "short")).Failed);
    }

    private static KeyRingOptions Options(string secret, string? previous = null) =>
        new() { KeyRingSecret = secret, PreviousKeyRingSecrets = previous is null ? [] : [previous] };

    /// <summary>A fresh ring on the repository (no secret: no encryptor, as before the upgrade) protects a provider key.</summary>
    private static string Protect(MemoryRepository repository, string? secret, string value)
    {
        using var services = Ring(repository, secret is null ? null : Options(secret), generateKeys: true);
        return new ProviderKeyProtector(services.GetRequiredService<IDataProtectionProvider>()).Protect(value);
    }

    private static string Unprotect(MemoryRepository repository, string protectedValue, KeyRingOptions? options, Func<bool, ServiceProvider>? ring = null)
    {
        using var services = ring?.Invoke(false) ?? Ring(repository, options, generateKeys: false);
        return new ProviderKeyProtector(services.GetRequiredService<IDataProtectionProvider>()).Unprotect(protectedValue);
    }

    private static ServiceProvider Ring(MemoryRepository repository, KeyRingOptions? options, bool generateKeys)
    {
        // A key that fails to decrypt is retried for about 2 s (in case it was still being written); here failing is the point.
        AppContext.SetData("Microsoft.AspNetCore.DataProtection.KeyManagement.MaximumTotalDefaultKeyResolverRetries", 0);
        var services = new ServiceCollection();
        var dataProtection = services.AddDataProtection()
            .SetApplicationName("AspireBatch")
            .AddKeyManagementOptions(o =>
            {
                o.XmlRepository = repository;
                o.AutoGenerateKeys = generateKeys;
            });
        if (options is not null)
        {
            services.AddOptions<KeyRingOptions>().Configure(o =>
            {
                o.KeyRingSecret = options.KeyRingSecret;
                o.PreviousKeyRingSecrets = options.PreviousKeyRingSecrets;
            });
            dataProtection.ProtectKeysWithKeyRingSecret();
        }
        return services.BuildServiceProvider();
    }

    private sealed class MemoryRepository : IXmlRepository
    {
        public List<XElement> Elements { get; } = [];

        public IReadOnlyCollection<XElement> GetAllElements() => Elements.Select(e => new XElement(e)).ToList();

        public void StoreElement(XElement element, string friendlyName) => Elements.Add(new XElement(element));
    }
}
