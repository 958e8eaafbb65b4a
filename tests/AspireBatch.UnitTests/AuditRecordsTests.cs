using System.Text.Json;
using System.Text.Json.Nodes;
using AspireBatch.Api.Apis;
using AspireBatch.Contracts;
using AspireBatch.Data.Audit;
using AspireBatch.Data.Entities;
using AspireBatch.Data.Live;

namespace AspireBatch.UnitTests;

/// <summary>
/// What the audit log keeps of a resource (docs/security.md, "Audit log"): its JSON with every secret-like property
/// masked as "***" at any depth, whatever the name's casing or separators, while counters and nested objects stay.
/// </summary>
public sealed class AuditRecordsTests
{
    private const string ProviderKey = "sk-audit-unit-test-0123456789";

    [Theory]
    [InlineData("apiKey")]
    [InlineData("ApiKey")]
    [InlineData("api_key")]
    [InlineData("API-KEY")]
    [InlineData("openaiApiKey")]
    [InlineData("encryptedApiKey")]
    [InlineData("key")]
    [InlineData("secret")]
    [InlineData("clientSecret")]
    [InlineData("client_secret")]
    [InlineData("password")]
    [InlineData("adminPassword")]
    [InlineData("passwordHash")]
    [InlineData("token")]
    [InlineData("accessToken")]
    [InlineData("refresh_token")]
    [InlineData("authorization")]
    [InlineData("privateKey")]
    [InlineData("connectionString")]
    [InlineData("credentials")]
    [InlineData("apiKeys")]
    [InlineData("secrets")]
    public void Secret_like_names_are_secrets(string name) => Assert.True(AuditRecords.IsSecret(name), name);

    [Theory]
    [InlineData("inputTokens")]
    [InlineData("tokens")]
    [InlineData("outputTokens")]
    [InlineData("maxTokens")]
    [InlineData("tokensPerMinute")]
    [InlineData("cachedInputTokens")]
    [InlineData("apiKeyLast4")]
    [InlineData("keyId")]
    [InlineData("prefix")]
    [InlineData("name")]
    [InlineData("baseUrl")]
    [InlineData("monkey")]
    [InlineData("secretary")]
    [InlineData("idempotencyKeyHeader")]
    public void Counters_and_hints_are_not(string name) => Assert.False(AuditRecords.IsSecret(name), name);

    [Fact]
    public void Secrets_are_masked_at_any_depth_and_everything_else_is_kept()
    {
        var value = new
        {
            name = "deepseek",
            apiKey = ProviderKey,
            usage = new { inputTokens = 1200, outputTokens = 340, tokensPerMinute = 90000 },
            targets = new object[]
            {
                new { provider = "a", settings = new { client_secret = "s3cr3t-one", timeoutSeconds = 30 } },
                new { provider = "b", auth = new { password = "hunter2", user = "ops" } },
            },
            deep = new { level1 = new { level2 = new { level3 = new { accessToken = "tok-deep", count = 3 } } } },
        };

        var json = AuditRecords.MaskedJson(value)!;

        foreach (var secret in new[] { ProviderKey, "s3cr3t-one", "hunter2", "tok-deep" })
        {
            Assert.DoesNotContain(secret, json);
        }
        var node = JsonNode.Parse(json)!;
        Assert.Equal("deepseek", (string?)node["name"]);
        Assert.Equal(AuditRecords.Masked, (string?)node["apiKey"]);
        // Counters are numbers, kept as they were.
        Assert.Equal(1200, (int)node["usage"]!["inputTokens"]!);
        Assert.Equal(340, (int)node["usage"]!["outputTokens"]!);
        Assert.Equal(90000, (int)node["usage"]!["tokensPerMinute"]!);
        // Nested objects and arrays keep their shape; only the secrets in them change.
        Assert.Equal(AuditRecords.Masked, (string?)node["targets"]![0]!["settings"]!["client_secret"]);
        Assert.Equal(30, (int)node["targets"]![0]!["settings"]!["timeoutSeconds"]!);
        Assert.Equal("b", (string?)node["targets"]![1]!["provider"]);
        Assert.Equal(AuditRecords.Masked, (string?)node["targets"]![1]!["auth"]!["password"]);
        Assert.Equal("ops", (string?)node["targets"]![1]!["auth"]!["user"]);
        Assert.Equal(AuditRecords.Masked, (string?)node["deep"]!["level1"]!["level2"]!["level3"]!["accessToken"]);
        Assert.Equal(3, (int)node["deep"]!["level1"]!["level2"]!["level3"]!["count"]!);
    }

    [Fact]
    public void Whatever_is_under_a_secrets_name_is_masked_but_an_object_named_key_is_kept_and_masked_inside()
    {
        var json = AuditRecords.MaskedJson(new
        {
            apiKeys = new[] { "sk-one", "sk-two" },
            secret = new { value = "inner-secret" },
            password = 1234567,
            hasApiKey = true,
            apiKey = (string?)null,
            key = new { id = "k1", name = "ingest", token = "tok-inner" },
        })!;

        Assert.DoesNotContain("sk-one", json);
        Assert.DoesNotContain("inner-secret", json);
        Assert.DoesNotContain("1234567", json);
        Assert.DoesNotContain("tok-inner", json);
        var node = JsonNode.Parse(json)!;
        Assert.Equal(AuditRecords.Masked, (string?)node["apiKeys"]);
        Assert.Equal(AuditRecords.Masked, (string?)node["secret"]);
        Assert.Equal(AuditRecords.Masked, (string?)node["password"]);
        // Whether there is a key tells nothing of it; a missing one stays null.
        Assert.True((bool)node["hasApiKey"]!);
        Assert.Null(node["apiKey"]);
        Assert.True(((JsonObject)node).ContainsKey("apiKey"));
        Assert.Equal("ingest", (string?)node["key"]!["name"]);
        Assert.Equal(AuditRecords.Masked, (string?)node["key"]!["token"]);
    }

    [Fact]
    public void A_created_keys_secret_shows_as_masked_and_its_description_stays()
    {
        var id = Guid.CreateVersion7();
        var created = new CreatedApiKey(new ApiKeyDto(id, "ingest", "support", [ApiScopes.Jobs], "abk_1a2b", null, null, 0m, DateTimeOffset.UnixEpoch, null, null),
            "abk_1a2b3c4d5e6f7g8h9i0jklmnopqrstuvwxyzABCDEFG");

        var node = JsonNode.Parse(AuditRecords.MaskedJson(created)!)!;

        Assert.Equal(AuditRecords.Masked, (string?)node["secret"]);
        Assert.Equal(id, (Guid)node["key"]!["id"]!);
        Assert.Equal("support", (string?)node["key"]!["team"]);
        Assert.Equal("abk_1a2b", (string?)node["key"]!["prefix"]);
    }

    [Fact]
    public void Json_given_as_a_node_or_an_element_is_masked_too()
    {
        const string text = """{"provider":{"api_key":"sk-node","models":[{"name":"m","inputPricePerMTok":0.27}]}}""";
        var fromNode = JsonNode.Parse(AuditRecords.MaskedJson(JsonNode.Parse(text))!)!;
        using var document = JsonDocument.Parse(text);
        var fromElement = JsonNode.Parse(AuditRecords.MaskedJson(document.RootElement)!)!;

        foreach (var node in new[] { fromNode, fromElement })
        {
            Assert.Equal(AuditRecords.Masked, (string?)node["provider"]!["api_key"]);
            Assert.Equal(0.27m, (decimal)node["provider"]!["models"]![0]!["inputPricePerMTok"]!);
        }
        Assert.Null(AuditRecords.MaskedJson(null));
    }

    [Fact]
    public void A_row_keeps_who_what_and_when_and_cuts_overlong_text_to_its_column()
    {
        var at = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        var entry = AuditRecords.Create(new string('a', 400), "support", "UpdateProvider", AuditResourceTypes.Provider, "p1",
            new { name = "old", apiKey = ProviderKey }, new { name = "new" }, at);

        Assert.Equal(300, entry.Actor.Length);
        Assert.Equal(("support", "UpdateProvider", "provider", "p1", at), (entry.Team, entry.Action, entry.ResourceType, entry.ResourceId, entry.At));
        Assert.DoesNotContain(ProviderKey, entry.Before);
        Assert.Equal("""{"name":"new"}""", entry.After);
    }

    [Theory]
    [InlineData(0, 1, "AutomaticRollback")]
    [InlineData(1, 0, "AutomaticRollForward")]
    public void The_monitors_switch_is_recorded_as_the_systems_with_its_direction(int from, int to, string action)
    {
        var routeId = Guid.CreateVersion7();
        var entry = RouteSwitcher.AutomaticAudit(new RollbackEvent
        {
            RouteId = routeId, FromPosition = from, ToPosition = to, FromTarget = $"p{from}/m", ToTarget = $"p{to}/m", Reason = "automatic: mean latency",
            Automatic = true, Figures = """{"meanLatencyMs":712.5}""", CreatedAt = DateTimeOffset.UnixEpoch,
        }, canaryWeight: null);

        Assert.Equal((AuditRecords.System, AuditRecords.AdminTeam, action, AuditResourceTypes.Route, routeId.ToString()),
            (entry.Actor, entry.Team, entry.Action, entry.ResourceType, entry.ResourceId));
        var before = JsonNode.Parse(entry.Before!)!;
        var after = JsonNode.Parse(entry.After!)!;
        Assert.Equal(from, (int)before["activeTargetPosition"]!);
        Assert.Equal(to, (int)after["activeTargetPosition"]!);
        Assert.Equal($"p{to}/m", (string?)after["activeTarget"]);
        Assert.Equal(712.5, (double)after["figures"]!["meanLatencyMs"]!);
    }

    [Fact]
    public void A_canary_stop_is_recorded_as_its_weight_going_to_zero()
    {
        var entry = RouteSwitcher.AutomaticAudit(new RollbackEvent
        {
            RouteId = Guid.CreateVersion7(), Kind = RouteEventKind.CanaryStopped, FromPosition = 1, ToPosition = 0, FromTarget = "canary/m", ToTarget = "main/m",
            Reason = "canary stopped: error rate", Automatic = true, CreatedAt = DateTimeOffset.UnixEpoch,
        }, canaryWeight: 10);

        Assert.Equal("AutomaticCanaryStop", entry.Action);
        Assert.Equal(10, (int)JsonNode.Parse(entry.Before!)!["weight"]!);
        Assert.Equal(0, (int)JsonNode.Parse(entry.After!)!["weight"]!);
        Assert.Equal("canary/m", (string?)JsonNode.Parse(entry.After!)!["target"]);
    }

    [Theory]
    [InlineData("alice", "%alice%")]
    [InlineData("50%_off", @"%50\%\_off%")]
    [InlineData(@"a\b", @"%a\\b%")]
    public void Filter_text_matches_itself_in_ilike(string typed, string pattern) => Assert.Equal(pattern, AuditApi.Contains(typed));
}
