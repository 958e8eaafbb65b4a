using System.Security.Claims;
using AspireBatch.Api.Services.Access;
using AspireBatch.Contracts;

namespace AspireBatch.UnitTests;

/// <summary>What each scope allows, and the shape of a key's secret.</summary>
public sealed class ScopeRulesTests
{
    private static ClaimsPrincipal With(params string[] scopes) =>
        new(new ClaimsIdentity(scopes.Select(s => new Claim(CallerAccess.ScopeClaim, s)), "test"));

    [Theory]
    [InlineData(ApiScopes.Jobs, ApiScopes.Jobs, "POST", true)]
    [InlineData(ApiScopes.Jobs, ApiScopes.Batches, "GET", false)]
    [InlineData(ApiScopes.Batches, ApiScopes.Batches, "DELETE", true)]
    [InlineData(ApiScopes.ReadOnly, ApiScopes.Jobs, "GET", true)]
    [InlineData(ApiScopes.ReadOnly, ApiScopes.Batches, "HEAD", true)]
    [InlineData(ApiScopes.ReadOnly, ApiScopes.Jobs, "POST", false)]
    [InlineData(ApiScopes.ReadOnly, ApiScopes.Admin, "GET", false)]
    [InlineData(ApiScopes.Admin, ApiScopes.Jobs, "POST", true)]
    [InlineData(ApiScopes.Admin, ApiScopes.Batches, "DELETE", true)]
    [InlineData(ApiScopes.Jobs, ApiScopes.Admin, "POST", false)]
    public void A_scope_allows_what_it_names(string held, string asked, string method, bool allowed) =>
        Assert.Equal(allowed, ScopeRules.Allows(With(held), asked, method));

    [Fact]
    public void No_scope_allows_nothing() => Assert.False(ScopeRules.Allows(With(), ApiScopes.Jobs, "GET"));

    [Fact]
    public void A_secret_is_long_random_marked_and_only_its_hash_and_prefix_are_kept()
    {
        var a = ApiKeySecrets.New();
        var b = ApiKeySecrets.New();
        Assert.NotEqual(a, b);
        Assert.StartsWith(ApiKeySecrets.Marker, a);
        Assert.Equal(4 + 43, a.Length);
        Assert.Matches("^abk_[A-Za-z0-9_-]{43}$", a);
        Assert.Equal(32, ApiKeySecrets.Hash(a).Length);
        Assert.Equal(ApiKeySecrets.Hash(a), ApiKeySecrets.Hash(a));
        Assert.Equal(a[..12], ApiKeySecrets.Prefix(a));
    }

    [Fact]
    public void Bad_key_requests_are_named()
    {
        Assert.Empty(ApiKeyStore.Errors(new CreateApiKeyRequest("support", "support-eu", [ApiScopes.Jobs, ApiScopes.Batches], 60, 10m)));
        Assert.Equal(5, ApiKeyStore.Errors(new CreateApiKeyRequest(" ", "Support EU", ["all"], 0, -1m)).Count);
    }

    [Fact]
    public void A_month_starts_at_midnight_utc_on_its_first_day()
    {
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), ApiKeyStore.MonthStart(new DateTimeOffset(2026, 12, 15, 8, 0, 0, TimeSpan.Zero)));
        // 23:00 on 31 December at UTC-5 is already January in UTC.
        Assert.Equal(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero), ApiKeyStore.MonthStart(new DateTimeOffset(2026, 12, 31, 23, 0, 0, TimeSpan.FromHours(-5))));
    }
}
