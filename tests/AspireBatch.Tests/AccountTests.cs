using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>
/// Operator accounts on the real stack: the first admin from the AppHost's parameters signs in; an admin makes
/// viewers and operators whose tokens do what their roles allow and no more; a role change, a lock and a new password
/// take effect on the next request; five wrong passwords lock an account; too many sign-ins are refused until
/// the minute is over; the audit log names the account and never holds a password.
/// </summary>
public sealed class AccountTests(StackFixture stack) : IDisposable
{
    private const string AdminUser = "operator";
    private const string AdminPassword = "operator-test";
    private readonly List<HttpClient> _clients = [];

    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }

    private HttpClient Anonymous(HttpMessageHandler? handler = null)
    {
        var client = handler is null ? new HttpClient() : new HttpClient(handler);
        client.BaseAddress = stack.Api.BaseAddress;
        _clients.Add(client);
        return client;
    }

    private static string Name(string role) => $"{role}-{Guid.NewGuid().ToString("N")[..6]}";

    private async Task<HttpResponseMessage> SignInAsync(string user, string password, HttpClient? through = null) =>
        await (through ?? Anonymous()).PostAsJsonAsync("/api/account/token", new SignInRequest(user, password), StackFixture.Json);

    private async Task<HttpClient> SignedInAsync(string user, string password)
    {
        var response = await SignInAsync(user, password);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        var token = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("accessToken").GetString()!;
        var client = Anonymous();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private async Task<AccountDto> CreateAsync(HttpClient admin, string user, string password, string role)
    {
        var response = await admin.PostAsJsonAsync("/api/users", new CreateAccountRequest(user, password, role), StackFixture.Json);
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<AccountDto>(StackFixture.Json))!;
    }

    private async Task<JobDto> PausedJobAsync()
    {
        var created = await stack.Api.CreateAsync("accounts.jsonl", JobApiClient.Jsonl(3, i => new { id = $"a{i}", text = $"account text {i}" }),
            JobApiClient.Fields("deepseek-chat", more: ("startPaused", "true")));
        return created.Job;
    }

    [Fact]
    public async Task The_first_admin_signs_in_and_roles_allow_what_they_say()
    {
        var admin = await SignedInAsync(AdminUser, AdminPassword);
        var me = (await admin.GetFromJsonAsync<CallerDto>("/api/account/me", StackFixture.Json))!;
        Assert.Equal((AdminUser, "account", AccountRoles.Admin), (me.Name, me.Kind, me.Role));
        Assert.Contains((await admin.GetFromJsonAsync<List<AccountDto>>("/api/users", StackFixture.Json))!, a => a.UserName == AdminUser && a.Role == AccountRoles.Admin);

        // Identity's default password rules apply to accounts made here.
        var weak = await admin.PostAsJsonAsync("/api/users", new CreateAccountRequest(Name("weak"), "short", AccountRoles.Viewer), StackFixture.Json);
        Assert.Equal(HttpStatusCode.BadRequest, weak.StatusCode);
        Assert.Contains("Passwords must be at least 6 characters", await weak.Content.ReadAsStringAsync());
        var badRole = await admin.PostAsJsonAsync("/api/users", new CreateAccountRequest(Name("bad"), "Viewer-Pass1!", "root"), StackFixture.Json);
        Assert.Equal(HttpStatusCode.BadRequest, badRole.StatusCode);

        var viewerName = Name("viewer");
        await CreateAsync(admin, viewerName, "Viewer-Pass1!", AccountRoles.Viewer);
        var operatorName = Name("operator");
        await CreateAsync(admin, operatorName, "Operator-Pass1!", AccountRoles.Operator);
        var viewer = await SignedInAsync(viewerName, "Viewer-Pass1!");
        var @operator = await SignedInAsync(operatorName, "Operator-Pass1!");

        var job = await PausedJobAsync();
        var provider = (await stack.Api.GetFromJsonAsync<List<ProviderDto>>("/api/providers", StackFixture.Json))!.First();
        var route = await stack.Api.PostAsJsonAsync("/api/routes", new { name = Name("acct-route"), targets = new[]
        {
            new { provider = "sim-primary", model = "deepseek-chat" }, new { provider = "sim-fallback", model = "deepseek-chat" },
        } }, StackFixture.Json);
        Assert.True(route.IsSuccessStatusCode, await route.Content.ReadAsStringAsync());
        var routeId = (await route.Content.ReadFromJsonAsync<RouteDto>(StackFixture.Json))!.Id;

        // A viewer reads everything, every team's, and changes nothing.
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/api/jobs/{job.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/providers")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync($"/api/jobs/{job.Id}/resume", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsJsonAsync($"/api/routes/{routeId}/rollback", new { reason = "viewer" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/api/users")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/api/audit")).StatusCode);

        // An operator controls jobs and rolls routes back, but changes no provider, route, key or user.
        Assert.Equal(HttpStatusCode.OK, (await @operator.PostAsync($"/api/jobs/{job.Id}/resume", null)).StatusCode);
        var rollback = await @operator.PostAsJsonAsync($"/api/routes/{routeId}/rollback", new { reason = "operator on call" });
        Assert.True(rollback.StatusCode == HttpStatusCode.OK, await rollback.Content.ReadAsStringAsync());
        Assert.Equal(1, (await rollback.Content.ReadFromJsonAsync<RouteDto>(StackFixture.Json))!.ActiveTargetPosition);
        Assert.Equal(HttpStatusCode.Forbidden, (await @operator.DeleteAsync($"/api/routes/{routeId}")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await @operator.PutAsJsonAsync($"/api/providers/{provider.Id}/models/x-model", new ModelPriceDto("x-model", 1, 1), StackFixture.Json)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await @operator.PostAsJsonAsync("/api/keys", new CreateApiKeyRequest("k", "t", [ApiScopes.Jobs]), StackFixture.Json)).StatusCode);

        // The audit log names the account that made each change.
        var audit = (await admin.GetFromJsonAsync<PagedResult<AuditEntryDto>>($"/api/audit?resourceType=route&resourceId={routeId}&action=RollbackRoute", StackFixture.Json))!;
        Assert.Equal($"user {operatorName}", Assert.Single(audit.Items).Actor);
        var created = (await admin.GetFromJsonAsync<PagedResult<AuditEntryDto>>($"/api/audit?resourceType=user&action=CreateAccount&actor={AdminUser}", StackFixture.Json))!;
        Assert.Contains(created.Items, e => e.After?.GetProperty("userName").GetString() == viewerName);
        Assert.Equal(0L, await stack.ScalarAsync<long>("SELECT count(*) FROM audit_log WHERE coalesce(after::text, '') LIKE '%Pass1!%' OR coalesce(before::text, '') LIKE '%Pass1!%'"));
    }

    [Fact]
    public async Task A_role_change_a_lock_and_a_new_password_take_effect_on_the_next_request()
    {
        var admin = await SignedInAsync(AdminUser, AdminPassword);
        var name = Name("mover");
        var account = await CreateAsync(admin, name, "Mover-Pass1!", AccountRoles.Viewer);
        var client = await SignedInAsync(name, "Mover-Pass1!");
        var job = await PausedJobAsync();
        Assert.Equal(HttpStatusCode.Forbidden, (await client.PostAsync($"/api/jobs/{job.Id}/resume", null)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/{account.Id}", new UpdateAccountRequest(Role: AccountRoles.Operator), StackFixture.Json)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync($"/api/jobs/{job.Id}/resume", null)).StatusCode);

        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/{account.Id}", new UpdateAccountRequest(Locked: true), StackFixture.Json)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(name, "Mover-Pass1!")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/{account.Id}", new UpdateAccountRequest(Locked: false), StackFixture.Json)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/jobs")).StatusCode);

        var weak = await admin.PutAsJsonAsync($"/api/users/{account.Id}", new UpdateAccountRequest(Password: "nodigits"), StackFixture.Json);
        Assert.Equal(HttpStatusCode.BadRequest, weak.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/users/{account.Id}", new UpdateAccountRequest(Password: "Moved-Pass2!"), StackFixture.Json)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(name, "Mover-Pass1!")).StatusCode);
        var again = await SignedInAsync(name, "Moved-Pass2!");
        Assert.Equal(HttpStatusCode.OK, (await again.GetAsync("/api/jobs")).StatusCode);

        // Nobody deletes themselves, and the account goes with its access.
        var self = (await again.GetFromJsonAsync<CallerDto>("/api/account/me", StackFixture.Json))!;
        Assert.Equal(AccountRoles.Operator, self.Role);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/users/{account.Id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await again.GetAsync("/api/jobs")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/api/users/{account.Id}")).StatusCode);
    }

    [Fact]
    public async Task Five_wrong_passwords_lock_an_account_and_the_right_one_then_fails_too()
    {
        var admin = await SignedInAsync(AdminUser, AdminPassword);
        var name = Name("guessed");
        await CreateAsync(admin, name, "Guessed-Pass1!", AccountRoles.Viewer);
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SignInAsync(name, $"wrong-{i}")).StatusCode);
        }
        var locked = await SignInAsync(name, "Guessed-Pass1!");
        Assert.Equal(HttpStatusCode.Unauthorized, locked.StatusCode);
        Assert.Contains("locked", await locked.Content.ReadAsStringAsync());
        var listed = (await admin.GetFromJsonAsync<List<AccountDto>>("/api/users", StackFixture.Json))!.Single(a => a.UserName == name);
        Assert.NotNull(listed.LockedOutUntil);
    }

    [Fact]
    public async Task Too_many_sign_ins_are_refused_with_retry_after_until_the_minute_is_over()
    {
        // The Api sees every sign-in from the orchestrator's proxy (as it would the Dashboard's or an ingress's), so
        // this test uses up the minute's allowance for everyone, then waits it out so the other tests sign in again.
        var client = Anonymous();
        HttpResponseMessage? refused = null;
        var tries = 0;
        while (refused is null && tries++ < 31)
        {
            var response = await SignInAsync($"nobody-{tries}", "nothing", client);
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                refused = response;
            }
            else
            {
                Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            }
        }
        Assert.True(refused is not null, "31 sign-ins within a minute were all answered; the limit is 30");
        var wait = refused!.Headers.RetryAfter?.Delta;
        Assert.True(wait > TimeSpan.Zero && wait <= TimeSpan.FromMinutes(1), $"Retry-After {wait}");
        Assert.Contains("Too many sign-ins", await refused.Content.ReadAsStringAsync());
        // The right password is refused too while the window is full; after it, sign-in works.
        Assert.Equal(HttpStatusCode.TooManyRequests, (await SignInAsync(AdminUser, AdminPassword, client)).StatusCode);
        await Task.Delay(wait!.Value + TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await SignInAsync(AdminUser, AdminPassword, client)).StatusCode);
    }
}
