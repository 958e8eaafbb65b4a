using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Simulator.Contracts;
using Microsoft.AspNetCore.Builder;

namespace AspireBatch.Simulator.Tests;

/// <summary>A real simulator on a real loopback port, in-process, with an HttpClient that carries the dev key.</summary>
public sealed class SimulatorHost : IAsyncDisposable
{
    public const string ApiKey = "sim-dev-key";

    private SimulatorHost(WebApplication app, Uri baseAddress)
    {
        App = app;
        BaseAddress = baseAddress;
        Client = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);
    }

    public WebApplication App { get; }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    /// <summary>Starts a simulator without latency and with a 200 ms batch turnaround; <paramref name="settings"/> are Simulator:* overrides such as "RequestsPerMinute=5".</summary>
    public static async Task<SimulatorHost> StartAsync(params string[] settings)
    {
        string[] args =
        [
            "--urls", "http://127.0.0.1:0",
            "--Logging:LogLevel:Default=Warning",
            "--Simulator:LatencyMs=0",
            "--Simulator:LatencyJitterMs=0",
            // Native batches finish in well under a second unless a test asks for longer.
            "--Simulator:BatchTurnaroundMs=200",
            .. settings.Select(s => $"--Simulator:{s}"),
        ];
        var app = SimulatorApp.Build(args);
        await app.StartAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
        return new SimulatorHost(app, new Uri(app.Urls.Single()));
    }

    /// <summary>A chat request body with one user message; <paramref name="model"/> defaults to a configured model.</summary>
    public static Dictionary<string, object?> Chat(string content, string model = "gpt-4.1") => new()
    {
        ["model"] = model,
        ["messages"] = new[] { new { role = "user", content } },
    };

    public Task<HttpResponseMessage> PostChatAsync(object body) =>
        Client.PostAsJsonAsync("/v1/chat/completions", body, TestContext.Current.CancellationToken);

    public async Task<SimulatorStats> GetStatsAsync() =>
        (await Client.GetFromJsonAsync<SimulatorStats>("/admin/stats", TestContext.Current.CancellationToken))!;

    public Task<HttpResponseMessage> PutConfigAsync(object patch) =>
        Client.PutAsJsonAsync("/admin/config", patch, TestContext.Current.CancellationToken);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
    }
}
