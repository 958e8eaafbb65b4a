using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using AspireBatch.Dashboard.Api;
using AspireBatch.Dashboard.Infrastructure;
using AspireBatch.Dashboard.Live;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace AspireBatch.Dashboard.Tests;

/// <summary>
/// The Api as a page sees it through <see cref="BatchApiClient"/>: answers for the paths (or path and query) a test
/// gives, a 404 problem for any other, and every request kept. <see cref="Use"/> registers it with what a page needs.
/// </summary>
public sealed class StubApi : HttpMessageHandler
{
    private readonly ConcurrentDictionary<string, Func<HttpRequestMessage, object>> _answers = new();
    private readonly ConcurrentQueue<Uri> _requests = new();

    public IReadOnlyCollection<Uri> Requests => _requests;

    public LiveUpdates Live { get; } = new(NullLogger<LiveUpdates>.Instance);

    /// <summary>Answers <paramref name="path"/> (matched with its query first, then without) with <paramref name="answer"/> as JSON.</summary>
    public StubApi Answer(string path, Func<HttpRequestMessage, object> answer)
    {
        _answers[path] = answer;
        return this;
    }

    public StubApi Use(IServiceCollection services)
    {
        services.AddSingleton(Live);
        services.AddSingleton(new BatchApiClient(new HttpClient(this) { BaseAddress = new Uri("http://api") }, new Factory(this)));
        services.AddSingleton(Options.Create(new DashboardOptions()));
        return this;
    }

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var uri = request.RequestUri!;
        _requests.Enqueue(uri);
        var response = _answers.TryGetValue(uri.PathAndQuery, out var answer) || _answers.TryGetValue(uri.AbsolutePath, out answer)
            ? new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(JsonSerializer.Serialize(answer(request), JsonSerializerOptions.Web), Encoding.UTF8, "application/json") }
            : new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("""{"title":"Not Found","status":404}""", Encoding.UTF8, "application/problem+json") };
        return Task.FromResult(response);
    }

    private sealed class Factory(HttpMessageHandler handler) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(handler, disposeHandler: false) { BaseAddress = new Uri("http://api") };
    }
}
