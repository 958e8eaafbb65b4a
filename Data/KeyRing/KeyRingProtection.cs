using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace AspireBatch.Data.KeyRing;

public static class KeyRingProtection
{
    /// <summary>
    /// Encrypts the key ring at rest as <see cref="KeyRingOptions"/> (section DataProtection) says: with a configured
    /// certificate, else with the key-ring secret. Options are validated at start; a certificate that cannot be
    /// loaded fails here, while the service is being built.
    /// </summary>
    public static IDataProtectionBuilder ProtectKeysWithKeyRing(this IDataProtectionBuilder builder, IConfiguration configuration)
    {
        builder.Services.AddOptions<KeyRingOptions>().BindConfiguration(KeyRingOptions.Section).ValidateOnStart();
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<KeyRingOptions>, KeyRingOptionsValidator>());

        var path = configuration[$"{KeyRingOptions.Section}:{nameof(KeyRingOptions.CertificatePath)}"];
        if (string.IsNullOrWhiteSpace(path))
        {
            return builder.ProtectKeysWithKeyRingSecret();
        }
        var certificate = LoadCertificate(path, configuration[$"{KeyRingOptions.Section}:{nameof(KeyRingOptions.CertificatePassword)}"]);
        // The decryption side is given the certificate too: on Linux EncryptedXml finds no certificate store to look in.
        return builder.ProtectKeysWithCertificate(certificate).UnprotectKeysWithAnyCertificate(certificate);
    }

    /// <summary>New keys are encrypted with the key-ring secret of <see cref="KeyRingOptions"/> (configured by the caller).</summary>
    public static IDataProtectionBuilder ProtectKeysWithKeyRingSecret(this IDataProtectionBuilder builder)
    {
        builder.Services.AddSingleton<IConfigureOptions<KeyManagementOptions>>(services =>
            new ConfigureOptions<KeyManagementOptions>(options =>
                options.XmlEncryptor = new KeyRingSecretXmlEncryptor(services.GetRequiredService<IOptions<KeyRingOptions>>().Value)));
        return builder;
    }

    private static X509Certificate2 LoadCertificate(string path, string? password)
    {
        try
        {
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, password);
            if (!certificate.HasPrivateKey)
            {
                throw new InvalidOperationException($"DataProtection:CertificatePath '{path}' has no private key: the key ring could be written but never read.");
            }
            return certificate;
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new InvalidOperationException(
                $"DataProtection:CertificatePath '{path}' cannot be loaded as a PFX with DataProtection:CertificatePassword: {e.Message}", e);
        }
    }
}
