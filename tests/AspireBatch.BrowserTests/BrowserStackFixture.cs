using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using AspireBatch.Contracts;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Playwright;

[assembly: AssemblyFixture(typeof(AspireBatch.BrowserTests.BrowserStackFixture))]

namespace AspireBatch.BrowserTests;

public sealed record CreatedJob(JobDto Job, JobEstimate Estimate);

/// <summary>
/// The real AppHost with throw-away Postgres and Redis, plus one headless Debian Chromium driven by Playwright,
/// started once for every browser test of the assembly.
/// </summary>
public sealed class BrowserStackFixture : IAsyncLifetime
{
    public const string ApiKey = "browser-test-api-key";
    public const string SimulatorKey = "browser-sim-key";
    public const string OperatorUser = "operator";
    public const string OperatorPassword = "operator-browser-test";
    public const string ChromiumPath = "/usr/bin/chromium";
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(4);
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Where every screenshot goes: the test output folder's <c>screenshots/</c>.</summary>
    public static readonly string ScreenshotDirectory = Path.Combine(AppContext.BaseDirectory, "screenshots");

    private DistributedApplication? _app;
    private IPlaywright? _playwright;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("the stack is not started");
    public IBrowser Browser { get; private set; } = null!;
    public Uri DashboardUrl { get; private set; } = null!;
    public HttpClient Api { get; private set; } = null!;
    public HttpClient SimPrimary { get; private set; } = null!;
    public HttpClient SimFallback { get; private set; } = null!;
    /// <summary>The OpenID Connect provider the Dashboard offers single sign-on with.</summary>
    public TestOidcProvider Sso { get; } = new();

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: apt-get install -y chromium");
        }
        Directory.CreateDirectory(ScreenshotDirectory);
        await Sso.StartAsync();

        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AspireBatch_AppHost>(
        [
            "Infrastructure:Ephemeral=true",
            $"Parameters:api-key={ApiKey}",
            $"Parameters:simulator-key={SimulatorKey}",
            $"Parameters:operator-user={OperatorUser}",
            $"Parameters:operator-password={OperatorPassword}",
            "Worker:BaseRetryDelayMilliseconds=100",
            // Every test signs in; the Api's limit (30 a minute) is tested by the stack tests.
            "Api:SignInsPerMinute=600",
            $"Oidc:Authority={Sso.Authority}",
            $"Oidc:ClientId={TestOidcProvider.ClientId}",
            $"Oidc:ClientSecret={TestOidcProvider.ClientSecret}",
            "Oidc:DisplayName=Test SSO",
            "Oidc:RequireHttpsMetadata=false",
        ], (options, _) => options.DisableDashboard = true);
        builder.Services.AddLogging(logging => logging
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None)
            .AddFilter("Aspire.Hosting", LogLevel.Warning)
            .AddFilter("AspireBatch.AppHost.Resources", LogLevel.Warning)
            .AddFilter("System.Net.Http.HttpClient", LogLevel.Warning)
            .AddFilter("Polly", LogLevel.Warning));
        _app = await builder.BuildAsync().WaitAsync(StartTimeout);
        await _app.StartAsync().WaitAsync(StartTimeout);
        foreach (var resource in new[] { "api", "sim-primary", "sim-fallback", "worker", "dashboard" })
        {
            await _app.ResourceNotifications.WaitForResourceHealthyAsync(resource).WaitAsync(StartTimeout);
        }

        DashboardUrl = _app.GetEndpoint("dashboard", "http");
        Api = _app.CreateHttpClient("api");
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
        Api.Timeout = TimeSpan.FromMinutes(2);
        SimPrimary = _app.CreateHttpClient("sim-primary");
        SimFallback = _app.CreateHttpClient("sim-fallback");

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
    }

    /// <summary>Puts both simulators back to a clean, fault-free state with a small latency and their usual (non-label) answers.</summary>
    public async Task ResetSimulatorsAsync(int latencyMs = 5)
    {
        foreach (var client in new[] { SimPrimary, SimFallback })
        {
            await ConfigureSimulatorAsync(client, new
            {
                latencyMs, latencyJitterMs = 0, requestsPerMinute = 0, tokensPerMinute = 0,
                error500Rate = 0.0, error503Rate = 0.0, timeoutRate = 0.0, resetRate = 0.0, malformedJsonRate = 0.0,
                labels = Array.Empty<string>(), disagreeRate = 0.0, answerSalt = "",
            });
            (await client.PostAsync("/admin/reset", null)).EnsureSuccessStatusCode();
        }
    }

    /// <summary>Changes some of a simulator's settings through its admin API (PUT /admin/config).</summary>
    public static async Task ConfigureSimulatorAsync(HttpClient simulator, object settings) =>
        (await simulator.PutAsJsonAsync("/admin/config", settings)).EnsureSuccessStatusCode();

    /// <summary>A route with a unique name; automatic switching off so only the tests move it.</summary>
    public async Task<RouteDto> CreateRouteAsync(string prefix, params (string Provider, string Model)[] targets)
    {
        var name = $"{prefix}-{Guid.NewGuid().ToString("N")[..6]}";
        var request = new RouteRequest(name, targets.Select(t => new RouteTargetRequest(t.Provider, t.Model)).ToList(),
            new RouteThresholds(AutoRollback: false, AutoRollForward: false));
        var response = await Api.PostAsJsonAsync("/api/routes", request, Json);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"creating route {name} failed: {(int)response.StatusCode} {body}");
        return JsonSerializer.Deserialize<RouteDto>(body, Json)!;
    }

    /// <summary>Creates a job through the Api, for tests where the upload form is not what is tested.</summary>
    public async Task<CreatedJob> CreateJobAsync(string fileName, string content, string model, string userTemplate = "Classify: {{text}}", string? name = null, bool startPaused = false,
        string? responseFormat = null)
    {
        using var form = new MultipartFormDataContent
        {
            { new ByteArrayContent(Encoding.UTF8.GetBytes(content)), "file", fileName },
            { new StringContent(model), "model" },
            { new StringContent(userTemplate), "userTemplate" },
        };
        if (name is not null)
        {
            form.Add(new StringContent(name), "name");
        }
        if (startPaused)
        {
            form.Add(new StringContent("true"), "startPaused");
        }
        if (responseFormat is not null)
        {
            form.Add(new StringContent(responseFormat), "responseFormat");
        }
        var response = await Api.PostAsync("/api/jobs", form);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"creating the job failed: {(int)response.StatusCode} {body}");
        return JsonSerializer.Deserialize<CreatedJob>(body, Json)!;
    }

    public async Task<JobDto> GetJobAsync(Guid id) => (await Api.GetFromJsonAsync<JobDto>($"/api/jobs/{id}", Json))!;

    public async Task<JobDto> WaitForJobAsync(Guid id, Func<JobDto, bool> condition, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            var job = await GetJobAsync(id);
            if (condition(job))
            {
                return job;
            }
            if (cts.IsCancellationRequested)
            {
                Assert.Fail($"job {id} did not reach the expected state within {timeout}: {job.State} {job.StateReason} {job.Counters}");
            }
            await Task.Delay(250);
        }
    }

    /// <summary>JSONL records <c>{"id": "r0", "text": "..."}</c>.</summary>
    public static string Jsonl(int count, string prefix = "r") =>
        string.Join('\n', Enumerable.Range(0, count).Select(i => JsonSerializer.Serialize(new { id = $"{prefix}{i}", text = $"review number {i}: the product works" }))) + "\n";

    public async ValueTask DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.CloseAsync();
        }
        _playwright?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync().WaitAsync(TimeSpan.FromMinutes(1));
            await _app.DisposeAsync();
        }
        await Sso.DisposeAsync();
    }
}
