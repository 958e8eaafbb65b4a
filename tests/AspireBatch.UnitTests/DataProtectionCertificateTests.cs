using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using AspireBatch.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AspireBatch.UnitTests;

/// <summary>
/// DataProtection__CertificatePath (the prod overlay's aspirebatch-dataprotection Secret) encrypts the key ring at
/// rest; without it the keys are plain XML, as data_protection_keys holds them today. A file repository stands in for
/// the database table: the same XML is written to either.
/// </summary>
public sealed class DataProtectionCertificateTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("aspirebatch-dp-");

    [Fact]
    public void With_a_certificate_the_stored_key_is_encrypted_and_another_service_with_it_reads_the_ring()
    {
        var pfx = WriteCertificate("test-password");
        var settings = new Dictionary<string, string?> { ["DataProtection:CertificatePath"] = pfx, ["DataProtection:CertificatePassword"] = "test-password" };

        var ciphertext = Protector(settings).Protect("sk-provider-key");
        var stored = File.ReadAllText(_folder.GetFiles("keys/*.xml").Single().FullName);

        Assert.Contains("EncryptedData", stored);
        Assert.DoesNotContain("<masterKey", stored);
        Assert.Equal("sk-provider-key", Protector(settings).Unprotect(ciphertext));
    }

    [Fact]
    public void Without_a_certificate_the_stored_key_is_plain_xml()
    {
        Protector([]).Protect("sk-provider-key");
        var stored = File.ReadAllText(_folder.GetFiles("keys/*.xml").Single().FullName);

        Assert.Contains("<masterKey", stored);
        Assert.DoesNotContain("EncryptedData", stored);
    }

    private IDataProtector Protector(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddDataProtection()
            .SetApplicationName("AspireBatch")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(_folder.FullName, "keys")))
            .ProtectKeysWithConfiguredCertificate(configuration);
        return services.BuildServiceProvider().GetRequiredService<IDataProtectionProvider>().CreateProtector("test");
    }

    private string WriteCertificate(string password)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=aspirebatch-dataprotection-test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var path = Path.Combine(_folder.FullName, "certificate.pfx");
        File.WriteAllBytes(path, certificate.Export(X509ContentType.Pfx, password));
        return path;
    }

    public void Dispose() => _folder.Delete(recursive: true);
}
