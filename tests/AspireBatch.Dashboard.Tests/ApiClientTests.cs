using System.Net;
using System.Text;
using AspireBatch.Contracts;
using AspireBatch.Dashboard.Api;

namespace AspireBatch.Dashboard.Tests;

public sealed class ApiClientTests
{
    [Fact]
    public void Import_errors_become_line_errors()
    {
        var problem = ApiProblem.FromResponse(400, """{"title":"Bad file","detail":"line 2: x","errors":[{"line":2,"message":"x"},{"line":0,"message":"too many errors"}]}""");
        Assert.Equal("Bad file", problem.Title);
        Assert.Equal("line 2: x", problem.Detail);
        Assert.Equal([new LineError(2, "x"), new LineError(0, "too many errors")], problem.LineErrors);
        Assert.Empty(problem.FieldErrors);
    }

    [Fact]
    public void Validation_errors_become_field_errors()
    {
        var problem = ApiProblem.FromResponse(400, """{"title":"One or more validation errors occurred.","errors":{"baseUrl":["an absolute URL is required"]}}""");
        Assert.Equal(["an absolute URL is required"], problem.FieldErrors["baseUrl"]);
        Assert.Contains("baseUrl: an absolute URL is required", problem.Summary);
    }

    [Theory]
    [InlineData(404, null, "Not found")]
    [InlineData(409, "", "Not allowed now")]
    [InlineData(502, "<html>bad gateway</html>", "The Api failed")]
    [InlineData(401, "[]", "The Api refused the Dashboard's key")]
    public void Bodies_that_are_not_problem_details_still_give_a_title(int status, string? body, string title)
    {
        var problem = ApiProblem.FromResponse(status, body);
        Assert.Equal(title, problem.Title);
        Assert.Equal(status, problem.Status);
    }

    [Fact]
    public void Conflicts_keep_the_apis_explanation()
    {
        var problem = ApiProblem.FromResponse(409, """{"title":"Conflict","status":409,"detail":"the job is completed"}""");
        Assert.Equal("Conflict — the job is completed", problem.Summary);
    }

    [Fact]
    public void Job_list_query_is_encoded()
    {
        var uri = BatchApiClient.JobsUri(new JobQuery(2, 50, JobState.Running, "gpt 4/x", new DateTimeOffset(2025, 1, 2, 0, 0, 0, TimeSpan.FromHours(2)), null));
        Assert.Equal("api/jobs?page=2&pageSize=50&state=Running&model=gpt%204%2Fx&from=2025-01-01T22%3A00%3A00.0000000%2B00%3A00", uri);
    }

    [Fact]
    public void Item_query_leaves_out_empty_filters()
    {
        var id = Guid.Parse("0195a1b2-0000-7000-8000-000000000001");
        Assert.Equal($"api/jobs/{id}/items?page=1&pageSize=50", BatchApiClient.ItemsUri(id, new ItemQuery()));
        Assert.Equal($"api/jobs/{id}/items?page=3&pageSize=25&state=Failed&errorCode=rate_limited",
            BatchApiClient.ItemsUri(id, new ItemQuery(3, 25, ItemState.Failed, "rate_limited")));
        Assert.Equal($"api/jobs/{id}/items?page=1&pageSize=50&field=answer.sentiment&value=very%20good",
            BatchApiClient.ItemsUri(id, new ItemQuery(Field: "answer.sentiment", Value: "very good")));
    }

    [Fact]
    public async Task Api_problems_surface_as_typed_exceptions()
    {
        var handler = new StubHandler(HttpStatusCode.Conflict, """{"title":"Conflict","detail":"the job is completed"}""");
        var api = new BatchApiClient(new HttpClient(handler) { BaseAddress = new Uri("http://api") }, new StubFactory(handler));
        var e = await Assert.ThrowsAsync<ApiProblemException>(() => api.PauseJobAsync(Guid.NewGuid(), Xunit.TestContext.Current.CancellationToken));
        Assert.Equal(409, e.Problem.Status);
        Assert.Equal("the job is completed", e.Problem.Detail);
        Assert.Equal(HttpMethod.Post, handler.Last!.Method);
    }

    [Fact]
    public async Task An_unreachable_api_is_a_problem_not_a_crash()
    {
        var handler = new StubHandler(new HttpRequestException("connection refused"));
        var api = new BatchApiClient(new HttpClient(handler) { BaseAddress = new Uri("http://api") }, new StubFactory(handler));
        var e = await Assert.ThrowsAsync<ApiProblemException>(() => api.GetOverviewAsync(Xunit.TestContext.Current.CancellationToken));
        Assert.Equal(0, e.Problem.Status);
        Assert.Contains("connection refused", e.Problem.Summary);
    }

    [Fact]
    public async Task Enums_are_read_as_names()
    {
        var handler = new StubHandler(HttpStatusCode.OK, """{"items":[{"id":1,"customId":"a","lineNumber":1,"state":"Failed","attempts":1}],"page":1,"pageSize":50,"totalCount":1}""");
        var api = new BatchApiClient(new HttpClient(handler) { BaseAddress = new Uri("http://api") }, new StubFactory(handler));
        var page = await api.GetItemsAsync(Guid.NewGuid(), new ItemQuery(), Xunit.TestContext.Current.CancellationToken);
        Assert.Equal(ItemState.Failed, Assert.Single(page.Items).State);
    }

    [Fact]
    public async Task Jobs_are_read_with_numeric_enums_and_camel_case()
    {
        var handler = new StubHandler(HttpStatusCode.OK, """
            {"items":[{"id":"0195a1b2-0000-7000-8000-000000000001","name":"n","state":2,"inputFormat":1,"requestedModel":"m",
              "counters":{"total":10,"pending":5,"succeeded":4,"failed":1,"cancelled":0,"inputTokens":1,"outputTokens":2,"costUsd":0.5,"itemsPerSecond":1.5,"etaSeconds":3.3},
              "estimate":{"items":10,"inputTokens":100,"maxOutputTokens":200,"costBoundUsd":1.25,"pricedModel":"m"},
              "isBatch":false,"createdAt":"2025-01-01T00:00:00+00:00"}],
             "page":1,"pageSize":20,"totalCount":1}
            """);
        var api = new BatchApiClient(new HttpClient(handler) { BaseAddress = new Uri("http://api") }, new StubFactory(handler));
        var page = await api.GetJobsAsync(new JobQuery(), Xunit.TestContext.Current.CancellationToken);
        var job = Assert.Single(page.Items);
        Assert.Equal(JobState.Running, job.State);
        Assert.Equal(JobInputFormat.Csv, job.InputFormat);
        Assert.Equal(5, job.Counters.Done);
    }

    [Fact]
    public async Task Uploads_send_the_file_and_fields_as_multipart()
    {
        var handler = new StubHandler(HttpStatusCode.OK, """{"records":[],"estimate":{"items":1,"inputTokens":1,"maxOutputTokens":1,"costBoundUsd":0.1,"pricedModel":"m"}}""");
        var api = new BatchApiClient(new HttpClient(handler) { BaseAddress = new Uri("http://api") }, new StubFactory(handler));
        var form = new JobForm { Model = "gpt-4", UserTemplate = "Say {{text}}", Temperature = 0.5, BudgetUsd = 2.5m };
        await api.PreviewJobAsync(form, new MemoryStream(Encoding.UTF8.GetBytes("{\"id\":1}\n")), "a.jsonl", Xunit.TestContext.Current.CancellationToken);
        Assert.Equal("http://api/api/jobs/preview", handler.Last!.RequestUri!.ToString());
        var body = handler.LastBody!;
        Assert.Contains("name=file; filename=a.jsonl", body);
        Assert.Contains("Say {{text}}", body);
        Assert.Contains("name=temperature", body);
        Assert.Contains("0.5", body);
        Assert.Contains("2.5", body);
        Assert.DoesNotContain("name=metadata", body);
    }

    [Fact]
    public async Task Provider_health_and_route_window_are_read_from_their_endpoints()
    {
        var handler = new StubHandler(HttpStatusCode.OK, """[{"providerId":"6f1c2d8e-0000-0000-0000-000000000001","name":"openai","circuit":"open","consecutiveFailures":5,"openUntil":"2025-06-01T12:00:30Z","lastCheck":{"healthy":false,"statusCode":503,"latencyMs":240,"message":"down","checkedAt":"2025-06-01T12:00:00Z"}}]""");
        var api = new BatchApiClient(new HttpClient(handler) { BaseAddress = new Uri("http://api") }, new StubFactory(handler));
        var health = Assert.Single(await api.GetProviderHealthAsync(Xunit.TestContext.Current.CancellationToken));
        Assert.Equal("/api/providers/health", handler.Last!.RequestUri!.AbsolutePath);
        Assert.Equal("open", health.Circuit);
        Assert.Equal(503, health.LastCheck!.StatusCode);

        var id = Guid.NewGuid();
        var windowHandler = new StubHandler(HttpStatusCode.OK, """{"routeId":"6f1c2d8e-0000-0000-0000-000000000002","activeTarget":"openai/gpt-4.1","calls":40,"errors":4,"errorRate":0.1,"successRate":0.9,"meanLatencyMs":300,"p95LatencyMs":900,"windowSeconds":300,"thresholds":{},"judged":true,"breach":"error rate 10.0% > 5.0%"}""");
        api = new BatchApiClient(new HttpClient(windowHandler) { BaseAddress = new Uri("http://api") }, new StubFactory(windowHandler));
        var window = await api.GetRouteWindowAsync(id, Xunit.TestContext.Current.CancellationToken);
        Assert.Equal($"/api/routes/{id}/window", windowHandler.Last!.RequestUri!.AbsolutePath);
        Assert.Equal(900, window.P95LatencyMs);
        Assert.Equal("error rate 10.0% > 5.0%", window.Breach);
    }

    private sealed class StubHandler : HttpMessageHandler
    {
        private readonly HttpStatusCode _status;
        private readonly string? _body;
        private readonly Exception? _throw;

        public StubHandler(HttpStatusCode status, string body) => (_status, _body) = (status, body);
        public StubHandler(Exception toThrow) => _throw = toThrow;

        public HttpRequestMessage? Last { get; private set; }
        public string? LastBody { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Last = request;
            LastBody = request.Content is null ? null : await request.Content.ReadAsStringAsync(cancellationToken);
            if (_throw is not null)
            {
                throw _throw;
            }
            return new HttpResponseMessage(_status) { Content = new StringContent(_body ?? "", Encoding.UTF8, "application/json") };
        }
    }

    private sealed class StubFactory(HttpMessageHandler handler) : IHttpClientFactory
    {
        public HttpClient CreateClient(string name) => new(handler, disposeHandler: false) { BaseAddress = new Uri("http://api") };
    }
}
