using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace AspireBatch.Data.KeyRing;

/// <summary>
/// Rewrites key-ring entries that a dump could read (secrets in plain XML, as every key was before the ring was
/// encrypted) or that are under a previous key-ring secret, encrypting them with the current encryptor. The key
/// material does not change, so everything it protected still decrypts. Run by the Migrator, before Api and Worker.
/// </summary>
public sealed class KeyRingReprotector(
    BatchDbContext db,
    IOptions<KeyManagementOptions> keyManagement,
    IOptions<KeyRingOptions> options,
    ILogger<KeyRingReprotector> logger)
{
    private static readonly XNamespace DataProtection = "http://schemas.asp.net/2015/03/dataProtection";
    internal static readonly XName EncryptedSecret = DataProtection + "encryptedSecret";
    private static readonly XName RequiresEncryption = DataProtection + "requiresEncryption";
    private static readonly string SecretDecryptor = typeof(KeyRingSecretXmlDecryptor).FullName!;
    private static readonly string NullDecryptor = typeof(NullXmlDecryptor).FullName!;

    /// <summary>
    /// One transaction that locks every entry: a second Migrator waits and then finds nothing left to do; a key a
    /// running service adds meanwhile is already encrypted. Returns the number of entries rewritten.
    /// </summary>
    public async Task<int> ReprotectAsync(CancellationToken cancellationToken)
    {
        var encryptor = keyManagement.Value.XmlEncryptor
            ?? throw new InvalidOperationException("No XML encryptor is configured for the key ring: call ProtectKeysWithKeyRing.");
        var decryptor = new KeyRingSecretXmlDecryptor(options.Value);
        var strategy = db.Database.CreateExecutionStrategy();
        return await strategy.ExecuteAsync(async token =>
        {
            db.ChangeTracker.Clear();
            await using var transaction = await db.Database.BeginTransactionAsync(token);
            var entries = await db.DataProtectionKeys
                .FromSql($"SELECT * FROM data_protection_keys ORDER BY id FOR UPDATE")
                .ToListAsync(token);
            var rewritten = 0;
            foreach (var entry in entries.Where(e => e.Xml is not null))
            {
                if (Reprotect(XElement.Parse(entry.Xml!), encryptor, decryptor) is not var (xml, reason))
                {
                    continue;
                }
                entry.Xml = xml.ToString(SaveOptions.DisableFormatting);
                rewritten++;
                logger.LogInformation("Key ring entry {Entry} re-encrypted: {Reason}", entry.FriendlyName ?? entry.Id.ToString(), reason);
            }
            await db.SaveChangesAsync(token);
            await transaction.CommitAsync(token);
            logger.LogInformation("Key ring: {Rewritten} of {Entries} entries re-encrypted with {Encryptor}",
                rewritten, entries.Count, encryptor is KeyRingSecretXmlEncryptor secret ? $"key-ring secret {secret.SecretId}" : encryptor.GetType().Name);
            return rewritten;
        }, cancellationToken);
    }

    /// <summary>
    /// The entry with every secret encrypted by <paramref name="encryptor"/>, or null when nothing needed it: secrets
    /// in clear (marked requiresEncryption, or wrapped by the framework's null encryptor) and, unless they are already
    /// under the current secret, entries of <see cref="KeyRingSecretXmlEncryptor"/>. Certificate-encrypted entries
    /// are left as they are.
    /// </summary>
    internal static (XElement Entry, string Reason)? Reprotect(XElement entry, IXmlEncryptor encryptor, IXmlDecryptor secretDecryptor)
    {
        var document = new XDocument(new XElement(entry));
        var reasons = new List<string>();

        // The framework's own loop: replace one element at a time, never looking inside what is already wrapped.
        while (document.Descendants().FirstOrDefault(e => IsMarkedForEncryption(e) && !e.Ancestors(EncryptedSecret).Any()) is { } plain)
        {
            plain.ReplaceWith(Wrap(encryptor.Encrypt(new XElement(plain))));
            reasons.Add($"<{plain.Name.LocalName}> was stored in plain XML");
        }

        foreach (var wrapper in document.Descendants(EncryptedSecret).ToList())
        {
            var decryptorType = ((string?)wrapper.Attribute("decryptorType") ?? "").Split(',')[0].Trim();
            var inner = wrapper.Elements().Single();
            XElement? secret = null;
            if (decryptorType == NullDecryptor)
            {
                secret = new NullXmlDecryptor().Decrypt(inner);
                reasons.Add("it was stored unencrypted by the null encryptor");
            }
            else if (decryptorType == SecretDecryptor && !(encryptor is KeyRingSecretXmlEncryptor current && current.IsCurrent(inner)))
            {
                secret = secretDecryptor.Decrypt(inner);
                reasons.Add($"it was under key-ring secret {(string?)inner.Attribute(KeyRingSecretXmlEncryptor.SecretIdAttribute)}");
            }
            if (secret is not null)
            {
                wrapper.ReplaceWith(Wrap(encryptor.Encrypt(secret)));
            }
        }
        return reasons.Count == 0 ? null : (document.Root!, string.Join("; ", reasons));
    }

    /// <summary>Whether a dump of this entry discloses a secret: anything marked for encryption outside an encrypted wrapper.</summary>
    public static bool HasSecretInClear(XElement entry) =>
        entry.DescendantsAndSelf().Any(e => IsMarkedForEncryption(e) && !e.Ancestors(EncryptedSecret).Any())
        || entry.DescendantsAndSelf(EncryptedSecret).Any(w => ((string?)w.Attribute("decryptorType") ?? "").StartsWith(NullDecryptor + ",", StringComparison.Ordinal));

    private static bool IsMarkedForEncryption(XElement element) =>
        (string?)element.Attribute(RequiresEncryption) is { } value && bool.TryParse(value, out var marked) && marked;

    // The shape XmlKeyManager writes and reads: <encryptedSecret decryptorType="{assembly-qualified name}">{element}</encryptedSecret>.
    private static XElement Wrap(EncryptedXmlInfo info) =>
        new(EncryptedSecret, new XAttribute("decryptorType", info.DecryptorType.AssemblyQualifiedName!), info.EncryptedElement);
}
