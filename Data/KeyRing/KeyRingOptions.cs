using Microsoft.Extensions.Options;

namespace AspireBatch.Data.KeyRing;

/// <summary>
/// How the Data Protection key ring (table data_protection_keys) is encrypted at rest: with a key derived from a
/// secret (AppHost parameter keyring-secret), or with a certificate when one is configured.
/// </summary>
public sealed class KeyRingOptions
{
    public const string Section = "DataProtection";
    public const int MinimumSecretLength = 32;

    /// <summary>The secret the key ring is encrypted with (AppHost parameter keyring-secret). Not a password: a random string.</summary>
    public string KeyRingSecret { get; set; } = "";

    /// <summary>Secrets the key ring was encrypted with before a rotation: still read, re-encrypted with the current one by the Migrator.</summary>
    public List<string> PreviousKeyRingSecrets { get; set; } = [];

    /// <summary>A PFX file: when set, new keys are encrypted with this certificate instead of the secret.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    internal bool UsesCertificate => !string.IsNullOrWhiteSpace(CertificatePath);

    /// <summary>The current secret first, then the previous ones, blank entries and repeats left out.</summary>
    internal IEnumerable<string> AllSecrets() =>
        new[] { KeyRingSecret }.Concat(PreviousKeyRingSecrets).Where(s => !string.IsNullOrEmpty(s)).Distinct(StringComparer.Ordinal);
}

/// <summary>A missing or short secret stops the service at start, before a key could be written unencrypted.</summary>
public sealed class KeyRingOptionsValidator : IValidateOptions<KeyRingOptions>
{
    private const string HowToSet =
        "Set the AppHost parameter keyring-secret (Parameters__keyring-secret, or dotnet user-secrets in AppHost/) to a random " +
        "string of at least 32 characters, e.g. `openssl rand -base64 32`; without the AppHost, set DataProtection__KeyRingSecret.";

    public ValidateOptionsResult Validate(string? name, KeyRingOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrEmpty(options.KeyRingSecret))
        {
            if (!options.UsesCertificate)
            {
                failures.Add("DataProtection:KeyRingSecret is missing: the Data Protection key ring, and with it every provider key, " +
                    "would be readable from a database dump. " + HowToSet);
            }
        }
        else if (options.KeyRingSecret.Length < KeyRingOptions.MinimumSecretLength)
        {
            failures.Add($"DataProtection:KeyRingSecret has {options.KeyRingSecret.Length} characters; it needs at least " +
                $"{KeyRingOptions.MinimumSecretLength}. " + HowToSet);
        }
        for (var i = 0; i < options.PreviousKeyRingSecrets.Count; i++)
        {
            var previous = options.PreviousKeyRingSecrets[i];
            if (previous.Length is > 0 and < KeyRingOptions.MinimumSecretLength)
            {
                failures.Add($"DataProtection:PreviousKeyRingSecrets:{i} has {previous.Length} characters; a key-ring secret has at least " +
                    $"{KeyRingOptions.MinimumSecretLength}.");
            }
        }
        if (options.UsesCertificate && !File.Exists(options.CertificatePath))
        {
            failures.Add($"DataProtection:CertificatePath '{options.CertificatePath}' does not exist.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
