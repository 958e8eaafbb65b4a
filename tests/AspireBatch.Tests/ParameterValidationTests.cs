using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

/// <summary>A bad parameter gets one answer shape on every endpoint group: 400, a ValidationProblem naming the field.</summary>
public sealed class ParameterValidationTests(StackFixture stack)
{
    public static TheoryData<string, string, string> Cases => new()
    {
        { "GET", "/api/jobs?page=0", "page" },
        { "GET", "/api/jobs?pageSize=501", "pageSize" },
        { "GET", "/api/jobs/{job}/items?pageSize=1001", "pageSize" },
        { "GET", "/api/jobs/{job}/export?format=xml", "format" },
        { "GET", "/api/jobs/{job}/export?lineage=yes", "lineage" },
        { "GET", "/api/jobs/{job}/export?format=openai&lineage=true", "lineage" },
        { "GET", "/api/jobs/{job}/export?format=csv&fields=answer.a%20b", "fields" },
        { "GET", "/api/jobs/{job}/export?format=openai&fields=answer.sentiment", "fields" },
        { "GET", "/api/jobs/{job}/items?field=answer..x&value=1", "field" },
        { "GET", "/api/jobs/{job}/items?field=answer.sentiment", "value" },
        { "GET", "/api/jobs/{job}/items?field=sentiment&value=positive", "field" },
        { "GET", "/api/jobs/{job}/fields/sentiment/distribution", "field" },
        { "PUT", "/api/jobs/{job}/settings", "requestsPerMinuteCap" },
        { "GET", "/api/stats/usage?groupBy=colour", "groupBy" },
        { "GET", "/api/stats/daily?days=0", "days" },
        { "GET", "/api/stats/compare?before=a&after=b", "before" },
        { "POST", "/api/routes/{route}/rollback", "reason" },
        { "GET", "/api/catalog/resolve?name=", "name" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task A_bad_parameter_is_a_validation_problem_naming_it(string method, string path, string field)
    {
        var route = (await stack.Api.GetFromJsonAsync<List<RouteDto>>("/api/routes", StackFixture.Json))!.First();
        // Any job whose records are still there: a purged one answers its exports 410 before reading the parameters.
        var job = (await stack.Api.GetFromJsonAsync<PagedResult<JobDto>>("/api/jobs?pageSize=50", StackFixture.Json))!.Items.FirstOrDefault(j => j.Purged is null)?.Id
            ?? (await stack.Api.CreateAsync("v.jsonl", JobApiClient.Jsonl(1, i => new { id = i, text = "v" }), JobApiClient.Fields("deepseek-chat"))).Job.Id;
        using var request = new HttpRequestMessage(new HttpMethod(method), path.Replace("{job}", job.ToString()).Replace("{route}", route.Id.ToString()));
        request.Content = method switch
        {
            "PUT" => JsonContent.Create(new JobSettingsRequest(0, null)),
            "POST" => JsonContent.Create(new RouteSwitchRequest(" ")),
            _ => null,
        };
        var response = await stack.Api.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{method} {path}: {(int)response.StatusCode} {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(body);
        var messages = problem.RootElement.GetProperty("errors").GetProperty(field);
        Assert.Contains(messages.EnumerateArray(), m => !string.IsNullOrWhiteSpace(m.GetString()));
    }
}
