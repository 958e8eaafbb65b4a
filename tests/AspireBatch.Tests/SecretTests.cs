using System.Diagnostics;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Xml;
using System.Xml.Linq;
using Aspire.Hosting.ApplicationModel;
using AspireBatch.Contracts;
using AspireBatch.Data.KeyRing;
using AspireBatch.Data.Services;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace AspireBatch.Tests;

/// <summary>
/// A provider key is never returned, logged or stored in plain text, and a database dump alone decrypts none: the
/// Data Protection key ring in it is encrypted with the key-ring secret, which is not in the database.
/// </summary>
public sealed class SecretTests(StackFixture stack)
{
    private const string WrongSecret = "a-wrong-keyring-secret-0123456789abcdef";

    [Fact]
    public async Task A_provider_key_never_leaves_in_clear()
    {
        await stack.ResetSimulatorsAsync();
        const string key = StackFixture.SimulatorKey;
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var name = "secret-" + Guid.NewGuid().ToString("N")[..6];
        var createResponse = await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest(name, sim + "/v1", key));
        var created = await createResponse.Content.ReadAsStringAsync();
        var provider = System.Text.Json.JsonSerializer.Deserialize<ProviderDto>(created, StackFixture.Json)!;
        Assert.True(provider.HasApiKey);
        Assert.Equal(key[^4..], provider.ApiKeyLast4);

        // Use the key for real: a connection test and a job through a route on this provider.
        var test = await (await stack.Api.PostAsync($"/api/providers/{provider.Id}/test", null)).Content.ReadFromJsonAsync<ConnectionTestResult>(StackFixture.Json);
        Assert.True(test!.Success, test.Message);
        Assert.Contains("deepseek-chat", test.Models);
        (await stack.Api.PutAsJsonAsync($"/api/providers/{provider.Id}/models/deepseek-chat", new ModelPriceDto("deepseek-chat", 1m, 2m))).EnsureSuccessStatusCode();
        var routeName = name + "-route";
        (await stack.Api.PostAsJsonAsync("/api/routes", new RouteRequest(routeName, [new RouteTargetRequest(name, "deepseek-chat")]))).EnsureSuccessStatusCode();
        var job = await stack.Api.CreateAsync("s.jsonl", JobApiClient.Jsonl(20, i => new { id = i, text = "secret test" }), JobApiClient.Fields(routeName));
        await stack.Api.WaitForStateAsync(job.Job.Id, JobState.Completed, TimeSpan.FromMinutes(1));

        var responses = new[]
        {
            created,
            await stack.Api.GetStringAsync("/api/providers"),
            await stack.Api.GetStringAsync($"/api/providers/{provider.Id}"),
            await stack.Api.GetStringAsync($"/api/jobs/{job.Job.Id}"),
            await stack.Api.GetStringAsync($"/api/jobs/{job.Job.Id}/export"),
            await stack.Api.GetStringAsync("/api/catalog"),
        };
        Assert.All(responses, r => Assert.DoesNotContain(key, r));

        foreach (var table in new[] { "providers", "provider_models", "routes", "jobs", "items", "attempts", "data_protection_keys", "rollback_events", "files" })
        {
            var hits = await stack.ScalarAsync<long>($"SELECT count(*) FROM {table} t WHERE t::text LIKE '%' || @key || '%'", ("key", key));
            Assert.True(hits == 0, $"the key is stored in clear in {table}");
            var secretHits = await stack.ScalarAsync<long>($"SELECT count(*) FROM {table} t WHERE t::text LIKE '%' || @secret || '%'", ("secret", StackFixture.KeyRingSecret));
            Assert.True(secretHits == 0, $"the key-ring secret is stored in {table}");
        }
        Assert.True(await stack.ScalarAsync<long>("SELECT count(*) FROM providers WHERE id = @id AND encrypted_api_key IS NOT NULL", ("id", provider.Id)) == 1);

        await Task.Delay(TimeSpan.FromSeconds(2)); // Logs arrive asynchronously.
        Assert.NotEmpty(stack.Logs);
        Assert.DoesNotContain(stack.Logs, line => line.Contains(key, StringComparison.Ordinal));
        Assert.DoesNotContain(stack.Logs, line => line.Contains(StackFixture.KeyRingSecret, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_database_dump_decrypts_no_provider_key_without_the_key_ring_secret()
    {
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var response = await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest("dump-" + Guid.NewGuid().ToString("N")[..6], sim + "/v1", StackFixture.SimulatorKey));
        response.EnsureSuccessStatusCode();
        var provider = (await response.Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json))!;

        // The dump: the key ring's rows and the provider's stored key.
        var ring = await DumpKeyRingAsync();
        var storedKey = await stack.ScalarAsync<string>("SELECT encrypted_api_key FROM providers WHERE id = @id", ("id", provider.Id));

        Assert.NotEmpty(ring);
        foreach (var (name, xml) in ring)
        {
            Assert.DoesNotContain("<masterKey", xml);
            var entry = XElement.Parse(xml);
            Assert.False(KeyRingReprotector.HasSecretInClear(entry), $"{name} discloses its key material: {xml}");
            if (entry.Name == "key")
            {
                Assert.Single(entry.Descendants("encryptedKey"));
            }
        }
        Assert.ThrowsAny<CryptographicException>(() => Unprotect(ring, storedKey, keyRingSecret: null));
        Assert.ThrowsAny<CryptographicException>(() => Unprotect(ring, storedKey, WrongSecret));
        Assert.Equal(StackFixture.SimulatorKey, Unprotect(ring, storedKey, StackFixture.KeyRingSecret));
    }

    [Fact]
    public async Task A_key_left_in_plain_xml_before_the_upgrade_is_encrypted_when_the_migrator_starts_and_still_decrypts()
    {
        const string value = "sk-stored-before-the-upgrade-1234";
        var (legacy, payload) = LegacyPlainKey(value);
        Assert.True(KeyRingReprotector.HasSecretInClear(legacy));
        var friendlyName = $"key-{(string)legacy.Attribute("id")!}";
        await using (var connection = await stack.OpenDatabaseAsync())
        await using (var insert = new NpgsqlCommand("INSERT INTO data_protection_keys (friendly_name, xml) VALUES (@name, @xml)", connection))
        {
            insert.Parameters.AddWithValue("name", friendlyName);
            insert.Parameters.AddWithValue("xml", legacy.ToString(SaveOptions.DisableFormatting));
            await insert.ExecuteNonQueryAsync();
        }

        // The Migrator runs again, as after an upgrade.
        var commands = stack.App.Services.GetRequiredService<ResourceCommandService>();
        var started = await commands.ExecuteCommandAsync("migrator", "resource-start");
        Assert.True(started.Success, $"starting the migrator failed: {started.Message}");
        var wait = Stopwatch.StartNew();
        string xml;
        while (KeyRingReprotector.HasSecretInClear(XElement.Parse(xml = await stack.ScalarAsync<string>(
            "SELECT xml FROM data_protection_keys WHERE friendly_name = @name", ("name", friendlyName)))))
        {
            Assert.True(wait.Elapsed < TimeSpan.FromMinutes(2), "the migrator did not re-encrypt the plain key within 2 minutes");
            await Task.Delay(TimeSpan.FromMilliseconds(500));
        }
        var finished = await stack.App.ResourceNotifications.WaitForResourceAsync("migrator",
            e => e.Snapshot.State?.Text == KnownResourceStates.Finished).WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, finished.Snapshot.ExitCode);

        Assert.DoesNotContain("<masterKey", xml);
        Assert.Single(XElement.Parse(xml).Descendants("encryptedKey"));
        var ring = await DumpKeyRingAsync();
        Assert.All(ring, e => Assert.False(KeyRingReprotector.HasSecretInClear(XElement.Parse(e.Xml)), e.Xml));
        Assert.ThrowsAny<CryptographicException>(() => Unprotect(ring, payload, keyRingSecret: null));
        Assert.Equal(value, Unprotect(ring, payload, StackFixture.KeyRingSecret));

        // The stack still reads the keys it stored: the seeded provider answers a connection test.
        var providers = await stack.Api.GetFromJsonAsync<List<ProviderDto>>("/api/providers", StackFixture.Json);
        var seeded = providers!.First(p => p.Name == "sim-primary");
        var test = await (await stack.Api.PostAsync($"/api/providers/{seeded.Id}/test", null)).Content.ReadFromJsonAsync<ConnectionTestResult>(StackFixture.Json);
        Assert.True(test!.Success, test.Message);
    }

    private async Task<List<(string? Name, string Xml)>> DumpKeyRingAsync()
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new NpgsqlCommand("SELECT friendly_name, xml FROM data_protection_keys ORDER BY id", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<(string?, string)>();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetString(1)));
        }
        return rows;
    }

    /// <summary>What someone holding the dump (and this code) gets: a Data Protection ring over the dumped rows, with or without a secret.</summary>
    private static string Unprotect(List<(string? Name, string Xml)> ring, string payload, string? keyRingSecret)
    {
        var repository = new MemoryRepository();
        repository.Elements.AddRange(ring.Select(r => XElement.Parse(r.Xml)));
        var services = new ServiceCollection();
        var dataProtection = services.AddDataProtection()
            .SetApplicationName("AspireBatch")
            .AddKeyManagementOptions(o =>
            {
                o.XmlRepository = repository;
                o.AutoGenerateKeys = false;
            });
        if (keyRingSecret is not null)
        {
            services.AddOptions<KeyRingOptions>().Configure(o => o.KeyRingSecret = keyRingSecret);
            dataProtection.ProtectKeysWithKeyRingSecret();
        }
        using var provider = services.BuildServiceProvider();
        return new ProviderKeyProtector(provider.GetRequiredService<IDataProtectionProvider>()).Unprotect(payload);
    }

    /// <summary>
    /// A key as versions before the encrypted ring stored it (no XML encryptor: its master key in plain XML) and a
    /// provider key it protected. Expired, so no running service takes it as its default key.
    /// </summary>
    private static (XElement Key, string Payload) LegacyPlainKey(string value)
    {
        var repository = new MemoryRepository();
        var services = new ServiceCollection();
        services.AddDataProtection()
            .SetApplicationName("AspireBatch")
            .AddKeyManagementOptions(o =>
            {
                o.XmlRepository = repository;
                o.AutoGenerateKeys = false;
            });
        using var provider = services.BuildServiceProvider();
        var now = DateTimeOffset.UtcNow;
        provider.GetRequiredService<IKeyManager>().CreateNewKey(now.AddDays(-100), now.AddDays(1));
        var payload = new ProviderKeyProtector(provider.GetRequiredService<IDataProtectionProvider>()).Protect(value);
        // Expired since, as a key from months ago would be (a ring protects nothing new with an expired key, but reads with it).
        var key = Assert.Single(repository.Elements);
        key.Element("expirationDate")!.Value = XmlConvert.ToString(now.AddDays(-10));
        return (key, payload);
    }

    private sealed class MemoryRepository : IXmlRepository
    {
        public List<XElement> Elements { get; } = [];

        public IReadOnlyCollection<XElement> GetAllElements() => Elements.Select(e => new XElement(e)).ToList();

        public void StoreElement(XElement element, string friendlyName) => Elements.Add(new XElement(element));
    }

    [Fact]
    public async Task Testing_a_wrong_key_or_a_dead_url_says_which()
    {
        var sim = stack.SimPrimary.BaseAddress!.ToString().TrimEnd('/');
        var wrong = await (await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest("wk-" + Guid.NewGuid().ToString("N")[..6], sim + "/v1", "sk-nope"))).Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json);
        var wrongTest = await (await stack.Api.PostAsync($"/api/providers/{wrong!.Id}/test", null)).Content.ReadFromJsonAsync<ConnectionTestResult>(StackFixture.Json);
        Assert.False(wrongTest!.Success);
        Assert.StartsWith("authentication failed", wrongTest.Message);

        var dead = await (await stack.Api.PostAsJsonAsync("/api/providers", new ProviderRequest("dead-" + Guid.NewGuid().ToString("N")[..6], "http://127.0.0.1:9/v1", "k", ConnectTimeoutSeconds: 2))).Content.ReadFromJsonAsync<ProviderDto>(StackFixture.Json);
        var deadTest = await (await stack.Api.PostAsync($"/api/providers/{dead!.Id}/test", null)).Content.ReadFromJsonAsync<ConnectionTestResult>(StackFixture.Json);
        Assert.False(deadTest!.Success);
        Assert.StartsWith("cannot connect", deadTest.Message);
    }
}
