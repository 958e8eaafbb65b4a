using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>Team keys a test makes through the Api, each with a client that calls as it; disposing disposes the clients.</summary>
internal sealed class TeamKeys(StackFixture stack) : IDisposable
{
    private readonly List<HttpClient> _clients = [];

    /// <summary>A team name of its own, so runs and tests never share a team.</summary>
    public static string Team(string name) => $"{name}-{Guid.NewGuid().ToString("N")[..6]}";

    public async Task<(CreatedApiKey Key, HttpClient Client)> CreateAsync(string team, string[] scopes, int? rpm = null, decimal? budget = null, string? name = null)
    {
        var response = await stack.Api.PostAsJsonAsync("/api/keys", new CreateApiKeyRequest(name ?? $"{team} key", team, scopes, rpm, budget), StackFixture.Json);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = (await response.Content.ReadFromJsonAsync<CreatedApiKey>(StackFixture.Json))!;
        return (created, ClientFor(created.Secret));
    }

    public HttpClient ClientFor(string secret)
    {
        var client = new HttpClient { BaseAddress = stack.Api.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        _clients.Add(client);
        return client;
    }

    public void Dispose()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
    }
}
