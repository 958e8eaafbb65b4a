using System.Text.Json;
using AspireBatch.Contracts;
using AspireBatch.Dashboard.Components.Pages.Keys;
using MudBlazor;

namespace AspireBatch.Dashboard.Tests;

/// <summary>The Keys page's retention section: lists the teams' policies, sets one through the Api, and removes one after asking.</summary>
public sealed class RetentionPoliciesTests : DashboardContext
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 9, 30, 0, TimeSpan.Zero);

    [Fact]
    public void The_teams_policies_are_listed()
    {
        new StubApi().Answer("/api/retention/policies", _ => new[] { new RetentionPolicyDto("research", 1, T0), new RetentionPolicyDto("support", 90, T0) }).Use(Services);
        var section = Render<RetentionPolicies>();
        section.WaitForAssertion(() => Assert.Equal(["research", "support"], section.FindAll("[data-testid=retention-row-team]").Select(c => c.TextContent)));
        Assert.Equal(["1 day", "90 days"], section.FindAll("[data-testid=retention-row-days]").Select(c => c.TextContent));
    }

    [Fact]
    public void A_policy_is_set_through_the_api_and_listed()
    {
        var policies = new List<RetentionPolicyDto>();
        (string Method, RetentionPolicyRequest? Body)? sent = null;
        var api = new StubApi()
            .Answer("/api/retention/policies", _ => policies.ToArray())
            .Answer("/api/retention/policies/support", request =>
            {
                sent = (request.Method.Method, JsonSerializer.Deserialize<RetentionPolicyRequest>(request.Content!.ReadAsStringAsync().Result, JsonSerializerOptions.Web));
                var set = new RetentionPolicyDto("support", sent.Value.Body!.PurgeFinishedJobsAfterDays, T0);
                policies.Add(set);
                return set;
            })
            .Use(Services);
        var section = Render<RetentionPolicies>();
        section.WaitForAssertion(() => section.Find("[data-testid=retention-empty]"));
        Assert.True(section.Find("[data-testid=retention-set]").HasAttribute("disabled"));

        section.Find("[data-testid=retention-team]").Change("support");
        section.Find("[data-testid=retention-days]").Change("45");
        section.Find("[data-testid=retention-set]").Click();

        section.WaitForAssertion(() => Assert.Equal("45 days", section.Find("[data-testid=retention-row-days]").TextContent));
        Assert.Equal(("PUT", new RetentionPolicyRequest(45)), (sent!.Value.Method, sent.Value.Body));
        Assert.Equal("support", section.Find("[data-testid=retention-row-team]").TextContent);
        Assert.Equal(2, api.Requests.Count(r => r.AbsolutePath == "/api/retention/policies"));
    }

    [Fact]
    public void A_policy_is_removed_only_after_confirmation()
    {
        var policies = new List<RetentionPolicyDto> { new("support", 90, T0) };
        string? method = null;
        var api = new StubApi()
            .Answer("/api/retention/policies", _ => policies.ToArray())
            .Answer("/api/retention/policies/support", request =>
            {
                method = request.Method.Method;
                policies.Clear();
                return new { };
            })
            .Use(Services);
        var provider = Render<MudDialogProvider>();
        var section = Render<RetentionPolicies>();
        section.WaitForAssertion(() => section.Find("[data-testid=retention-remove]"));

        section.Find("[data-testid=retention-remove]").Click();
        provider.Find("[data-testid=confirm-cancel]").Click();
        Assert.DoesNotContain(api.Requests, r => r.AbsolutePath == "/api/retention/policies/support");

        section.Find("[data-testid=retention-remove]").Click();
        Assert.Contains("until they are purged by hand", provider.Find("[data-testid=confirm-message]").TextContent);
        provider.Find("[data-testid=confirm-yes]").Click();

        section.WaitForAssertion(() => section.Find("[data-testid=retention-empty]"));
        Assert.Equal("DELETE", method);
    }
}
