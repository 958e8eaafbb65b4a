using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Dashboard.Api;

public sealed record JobCreatedDto(JobDto Job, JobEstimate Estimate);

/// <summary>The Api's answer to a sign-in (ASP.NET Core's bearer token response).</summary>
public sealed record SignInToken(string AccessToken, long ExpiresIn);

public sealed record JobQuery(int Page = 1, int PageSize = 20, JobState? State = null, string? Model = null, DateTimeOffset? From = null, DateTimeOffset? To = null);

/// <param name="Field">With <paramref name="Value"/>: only items whose answer has that value at that path (answer.sentiment).</param>
public sealed record ItemQuery(int Page = 1, int PageSize = 50, ItemState? State = null, string? ErrorCode = null, string? Field = null, string? Value = null);

/// <summary>GET /api/audit's filters: actor and action match any part, case-insensitively; from inclusive, to exclusive.</summary>
public sealed record AuditQuery(int Page = 1, int PageSize = 50, string? ResourceType = null, string? ResourceId = null, string? Actor = null,
    string? Action = null, DateTimeOffset? From = null, DateTimeOffset? To = null);

/// <summary>An export as the Api streams it; dispose it to release the connection.</summary>
public sealed class ExportStream(HttpResponseMessage response, Stream content) : IAsyncDisposable
{
    public Stream Content { get; } = content;
    public string ContentType { get; } = response.Content.Headers.ContentType?.ToString() ?? "application/octet-stream";
    public string? FileName { get; } = response.Content.Headers.ContentDisposition?.FileNameStar ?? response.Content.Headers.ContentDisposition?.FileName?.Trim('"');

    public async ValueTask DisposeAsync()
    {
        await Content.DisposeAsync();
        response.Dispose();
    }
}

/// <summary>
/// The Dashboard's only way to the data: one method per Api endpoint. Failures come out as <see cref="ApiProblemException"/>.
/// Uploads and exports go through a client without retries or timeouts (a retried upload would create the job twice).
/// </summary>
public sealed class BatchApiClient(HttpClient http, IHttpClientFactory factory, OperatorToken? token = null)
{
    public const string StreamingClientName = "api-streams";

    // Accounts: the sign-in itself carries no token yet; the answer's token then goes with every call.
    public Task<SignInToken> SignInAsync(SignInRequest request, CancellationToken cancellationToken) =>
        SendAsync<SignInToken>(HttpMethod.Post, "api/account/token", request, cancellationToken);
    /// <summary>Single sign-on: the provider's ID token, for the Api's token of the account it names.</summary>
    public Task<SignInToken> SignInWithProviderAsync(string idToken, CancellationToken cancellationToken) =>
        SendWithBearerAsync<SignInToken>(HttpMethod.Post, "api/account/external-token", idToken, cancellationToken);
    public Task<CallerDto> GetCallerAsync(string accessToken, CancellationToken cancellationToken) =>
        SendWithBearerAsync<CallerDto>(HttpMethod.Get, "api/account/me", accessToken, cancellationToken);

    /// <summary>A call with a bearer of its own (a sign-in's token before the cookie holds it, a provider's ID token).</summary>
    private async Task<T> SendWithBearerAsync<T>(HttpMethod method, string uri, string bearer, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, uri);
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bearer);
        using var response = await Guard(() => http.SendAsync(request, cancellationToken));
        return await ReadAsync<T>(response, cancellationToken);
    }
    public Task<CallerDto> GetMeAsync(CancellationToken cancellationToken) => GetAsync<CallerDto>("api/account/me", cancellationToken);
    public Task<List<AccountDto>> GetAccountsAsync(CancellationToken cancellationToken) => GetAsync<List<AccountDto>>("api/users", cancellationToken);
    public Task<AccountDto> CreateAccountAsync(CreateAccountRequest request, CancellationToken cancellationToken) =>
        SendAsync<AccountDto>(HttpMethod.Post, "api/users", request, cancellationToken);
    public Task<AccountDto> UpdateAccountAsync(Guid id, UpdateAccountRequest request, CancellationToken cancellationToken) =>
        SendAsync<AccountDto>(HttpMethod.Put, $"api/users/{id}", request, cancellationToken);
    public Task DeleteAccountAsync(Guid id, CancellationToken cancellationToken) => SendAsync(HttpMethod.Delete, $"api/users/{id}", null, cancellationToken);

    // Providers, models and aliases
    public Task<List<ApiKeyDto>> GetKeysAsync(CancellationToken cancellationToken) => GetAsync<List<ApiKeyDto>>("api/keys", cancellationToken);
    public Task<CreatedApiKey> CreateKeyAsync(CreateApiKeyRequest request, CancellationToken cancellationToken) => SendAsync<CreatedApiKey>(HttpMethod.Post, "api/keys", request, cancellationToken);
    public Task RevokeKeyAsync(Guid id, CancellationToken cancellationToken) => SendAsync(HttpMethod.Delete, $"api/keys/{id}", null, cancellationToken);
    public Task<PagedResult<AuditEntryDto>> GetAuditAsync(AuditQuery query, CancellationToken cancellationToken) => GetAsync<PagedResult<AuditEntryDto>>(AuditUri(query), cancellationToken);

    public Task<List<RetentionPolicyDto>> GetRetentionPoliciesAsync(CancellationToken cancellationToken) =>
        GetAsync<List<RetentionPolicyDto>>("api/retention/policies", cancellationToken);
    public Task<RetentionPolicyDto> SetRetentionPolicyAsync(string team, int purgeFinishedJobsAfterDays, CancellationToken cancellationToken) =>
        SendAsync<RetentionPolicyDto>(HttpMethod.Put, $"api/retention/policies/{Uri.EscapeDataString(team)}", new RetentionPolicyRequest(purgeFinishedJobsAfterDays), cancellationToken);
    public Task RemoveRetentionPolicyAsync(string team, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"api/retention/policies/{Uri.EscapeDataString(team)}", null, cancellationToken);

    public Task<List<ProviderDto>> GetProvidersAsync(CancellationToken cancellationToken) => GetAsync<List<ProviderDto>>("api/providers", cancellationToken);
    public Task<ProviderDto> GetProviderAsync(Guid id, CancellationToken cancellationToken) => GetAsync<ProviderDto>($"api/providers/{id}", cancellationToken);
    public Task<ProviderDto> CreateProviderAsync(ProviderRequest request, CancellationToken cancellationToken) => SendAsync<ProviderDto>(HttpMethod.Post, "api/providers", request, cancellationToken);
    public Task<ProviderDto> UpdateProviderAsync(Guid id, ProviderRequest request, CancellationToken cancellationToken) => SendAsync<ProviderDto>(HttpMethod.Put, $"api/providers/{id}", request, cancellationToken);
    public Task DeleteProviderAsync(Guid id, CancellationToken cancellationToken) => SendAsync(HttpMethod.Delete, $"api/providers/{id}", null, cancellationToken);
    public Task<ConnectionTestResult> TestProviderAsync(Guid id, CancellationToken cancellationToken) => SendAsync<ConnectionTestResult>(HttpMethod.Post, $"api/providers/{id}/test", null, cancellationToken);
    public Task<ModelPriceDto> PutModelAsync(Guid providerId, ModelPriceDto price, CancellationToken cancellationToken) =>
        SendAsync<ModelPriceDto>(HttpMethod.Put, $"api/providers/{providerId}/models/{Uri.EscapeDataString(price.Name)}", price, cancellationToken);
    public Task DeleteModelAsync(Guid providerId, string model, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"api/providers/{providerId}/models/{Uri.EscapeDataString(model)}", null, cancellationToken);
    public Task<List<ProviderHealthDto>> GetProviderHealthAsync(CancellationToken cancellationToken) => GetAsync<List<ProviderHealthDto>>("api/providers/health", cancellationToken);
    public Task<CatalogDto> GetCatalogAsync(CancellationToken cancellationToken) => GetAsync<CatalogDto>("api/catalog", cancellationToken);
    /// <summary>What a job naming <paramref name="name"/> would run on, resolved by the Api; a 404 problem when nothing has the name.</summary>
    public Task<ResolvedName> ResolveNameAsync(string name, CancellationToken cancellationToken) =>
        GetAsync<ResolvedName>($"api/catalog/resolve?name={Uri.EscapeDataString(name)}", cancellationToken);
    public Task<ModelAliasDto> PutAliasAsync(ModelAliasDto alias, CancellationToken cancellationToken) =>
        SendAsync<ModelAliasDto>(HttpMethod.Put, $"api/aliases/{Uri.EscapeDataString(alias.Alias)}", alias, cancellationToken);
    public Task DeleteAliasAsync(string alias, CancellationToken cancellationToken) => SendAsync(HttpMethod.Delete, $"api/aliases/{Uri.EscapeDataString(alias)}", null, cancellationToken);

    // Routes and rollback
    public Task<List<RouteDto>> GetRoutesAsync(CancellationToken cancellationToken) => GetAsync<List<RouteDto>>("api/routes", cancellationToken);
    public Task<RouteDto> GetRouteAsync(Guid id, CancellationToken cancellationToken) => GetAsync<RouteDto>($"api/routes/{id}", cancellationToken);
    public Task<RouteDto> CreateRouteAsync(RouteRequest request, CancellationToken cancellationToken) => SendAsync<RouteDto>(HttpMethod.Post, "api/routes", request, cancellationToken);
    public Task<RouteDto> UpdateRouteAsync(Guid id, RouteRequest request, CancellationToken cancellationToken) => SendAsync<RouteDto>(HttpMethod.Put, $"api/routes/{id}", request, cancellationToken);
    public Task<RouteDto> RollbackAsync(Guid id, RouteSwitchRequest request, CancellationToken cancellationToken) => SendAsync<RouteDto>(HttpMethod.Post, $"api/routes/{id}/rollback", request, cancellationToken);
    public Task<RouteDto> RollForwardAsync(Guid id, RouteSwitchRequest request, CancellationToken cancellationToken) => SendAsync<RouteDto>(HttpMethod.Post, $"api/routes/{id}/rollforward", request, cancellationToken);
    public Task<RouteWindowDto> GetRouteWindowAsync(Guid id, CancellationToken cancellationToken) => GetAsync<RouteWindowDto>($"api/routes/{id}/window", cancellationToken);
    public Task<RouteTargetsWindowDto> GetRouteTargetsWindowAsync(Guid id, CancellationToken cancellationToken) => GetAsync<RouteTargetsWindowDto>($"api/routes/{id}/targets/window", cancellationToken);
    public Task<List<RollbackEventDto>> GetRouteEventsAsync(Guid id, CancellationToken cancellationToken) => GetAsync<List<RollbackEventDto>>($"api/routes/{id}/events", cancellationToken);
    public Task<List<RollbackEventDto>> GetRecentRollbacksAsync(int limit, CancellationToken cancellationToken) => GetAsync<List<RollbackEventDto>>($"api/rollbacks?limit={limit}", cancellationToken);

    // Jobs and items
    public Task<JobCreatedDto> CreateJobAsync(JobForm form, Stream file, string fileName, CancellationToken cancellationToken) =>
        UploadAsync<JobCreatedDto>("api/jobs", form, file, fileName, cancellationToken);
    public Task<TemplatePreview> PreviewJobAsync(JobForm form, Stream file, string fileName, CancellationToken cancellationToken) =>
        UploadAsync<TemplatePreview>("api/jobs/preview", form, file, fileName, cancellationToken);
    public Task<PagedResult<JobDto>> GetJobsAsync(JobQuery query, CancellationToken cancellationToken) => GetAsync<PagedResult<JobDto>>(JobsUri(query), cancellationToken);
    public Task<JobDto> GetJobAsync(Guid id, CancellationToken cancellationToken) => GetAsync<JobDto>($"api/jobs/{id}", cancellationToken);

    public Task<JobProviderBatches> GetJobProviderBatchesAsync(Guid id, CancellationToken cancellationToken) =>
        GetAsync<JobProviderBatches>($"api/jobs/{id}/provider-batches", cancellationToken);
    public Task<List<JobEventDto>> GetJobEventsAsync(Guid id, CancellationToken cancellationToken) => GetAsync<List<JobEventDto>>($"api/jobs/{id}/events", cancellationToken);
    public Task<JobDto> PauseJobAsync(Guid id, CancellationToken cancellationToken) => SendAsync<JobDto>(HttpMethod.Post, $"api/jobs/{id}/pause", null, cancellationToken);
    public Task<JobDto> ResumeJobAsync(Guid id, CancellationToken cancellationToken) => SendAsync<JobDto>(HttpMethod.Post, $"api/jobs/{id}/resume", null, cancellationToken);
    public Task<JobDto> CancelJobAsync(Guid id, CancellationToken cancellationToken) => SendAsync<JobDto>(HttpMethod.Post, $"api/jobs/{id}/cancel", null, cancellationToken);
    /// <summary>Retention: deletes a finished job's records and answers, keeps its counters and cost ledger; says what it freed.</summary>
    public Task<JobPurged> PurgeJobAsync(Guid id, CancellationToken cancellationToken) => SendAsync<JobPurged>(HttpMethod.Post, $"api/jobs/{id}/purge", null, cancellationToken);
    public Task<MoveLeftoversResult> MoveLeftoversAsync(Guid id, MoveLeftoversRequest request, CancellationToken cancellationToken) =>
        SendAsync<MoveLeftoversResult>(HttpMethod.Post, $"api/jobs/{id}/move", request, cancellationToken);

    public Task<RetryFailedResult> RetryFailedAsync(Guid id, string? errorCode, CancellationToken cancellationToken) =>
        SendAsync<RetryFailedResult>(HttpMethod.Post, $"api/jobs/{id}/retry-failed", new RetryFailedRequest(errorCode), cancellationToken);
    public Task<JobDto> UpdateJobSettingsAsync(Guid id, JobSettingsRequest request, CancellationToken cancellationToken) =>
        SendAsync<JobDto>(HttpMethod.Put, $"api/jobs/{id}/settings", request, cancellationToken);
    public Task<PagedResult<ItemSummaryDto>> GetItemsAsync(Guid id, ItemQuery query, CancellationToken cancellationToken) =>
        GetAsync<PagedResult<ItemSummaryDto>>(ItemsUri(id, query), cancellationToken);
    public Task<ItemDetailDto> GetItemAsync(Guid id, long itemId, CancellationToken cancellationToken) => GetAsync<ItemDetailDto>($"api/jobs/{id}/items/{itemId}", cancellationToken);
    /// <summary>The job's calls in time buckets; <paramref name="from"/> asks only for the bucket holding it and those after.</summary>
    public Task<JobTimeseries> GetJobTimeseriesAsync(Guid id, int? bucketSeconds, DateTimeOffset? from, CancellationToken cancellationToken) =>
        GetAsync<JobTimeseries>(TimeseriesUri(id, bucketSeconds, from), cancellationToken);

    /// <param name="lineage">Adds where each result came from (jsonl and csv only).</param>
    /// <param name="fields">Typed columns and record fields, comma-separated (answer.sentiment,text); jsonl and csv only.</param>
    public Task<ExportStream> OpenExportAsync(Guid id, string format, bool lineage, CancellationToken cancellationToken, string? fields = null) =>
        OpenStreamAsync($"api/jobs/{id}/export?format={Uri.EscapeDataString(format)}{(lineage ? "&lineage=true" : "")}" +
            $"{(string.IsNullOrWhiteSpace(fields) ? "" : "&fields=" + Uri.EscapeDataString(fields))}", cancellationToken);
    /// <summary>Counts per value of an answer field over the job's succeeded items.</summary>
    public Task<FieldDistribution> GetFieldDistributionAsync(Guid id, string field, CancellationToken cancellationToken) =>
        GetAsync<FieldDistribution>($"api/jobs/{id}/fields/{Uri.EscapeDataString(field)}/distribution", cancellationToken);

    private async Task<ExportStream> OpenStreamAsync(string uri, CancellationToken cancellationToken)
    {
        var client = await StreamingClientAsync();
        var response = await Guard(() => client.GetAsync(uri, HttpCompletionOption.ResponseHeadersRead, cancellationToken));
        await EnsureSuccessAsync(response, cancellationToken);
        return new ExportStream(response, await response.Content.ReadAsStreamAsync(cancellationToken));
    }

    // Rehearsals
    public Task<List<RehearsalSummaryDto>> GetRehearsalsAsync(CancellationToken cancellationToken) => GetAsync<List<RehearsalSummaryDto>>("api/rehearsals", cancellationToken);
    public Task<RehearsalDto> GetRehearsalAsync(Guid id, CancellationToken cancellationToken) => GetAsync<RehearsalDto>($"api/rehearsals/{id}", cancellationToken);
    public Task<RehearsalDto> CreateRehearsalAsync(RehearsalRequest request, CancellationToken cancellationToken) =>
        SendAsync<RehearsalDto>(HttpMethod.Post, "api/rehearsals", request, cancellationToken);
    /// <summary>The file becomes a paused source job (the job form's fields apply to it); the rehearsal travels as JSON in the <c>rehearsal</c> field.</summary>
    public async Task<RehearsalDto> CreateRehearsalFromUploadAsync(JobForm form, RehearsalRequest request, Stream file, string fileName, CancellationToken cancellationToken)
    {
        var client = await StreamingClientAsync();
        using var content = form.ToContent(file, fileName);
        content.Add(new StringContent(JsonSerializer.Serialize(request with { SourceJobId = null }, JsonSerializerOptions.Web)), "rehearsal");
        using var response = await Guard(() => client.PostAsync("api/rehearsals/upload", content, cancellationToken));
        return await ReadAsync<RehearsalDto>(response, cancellationToken);
    }
    public Task<PagedResult<RehearsalRecordDto>> GetRehearsalRecordsAsync(Guid id, bool disagreements, int page, int pageSize, CancellationToken cancellationToken) =>
        GetAsync<PagedResult<RehearsalRecordDto>>(Query($"api/rehearsals/{id}/records",
            ("disagreements", disagreements ? "true" : "false"),
            ("page", page.ToString(CultureInfo.InvariantCulture)),
            ("pageSize", pageSize.ToString(CultureInfo.InvariantCulture))), cancellationToken);
    public Task<RehearsalDto> CancelRehearsalAsync(Guid id, CancellationToken cancellationToken) => SendAsync<RehearsalDto>(HttpMethod.Post, $"api/rehearsals/{id}/cancel", null, cancellationToken);
    public Task<AdoptionProposal> ProposeAdoptionAsync(Guid id, int candidate, string? route, CancellationToken cancellationToken) =>
        GetAsync<AdoptionProposal>(Query($"api/rehearsals/{id}/adoption", ("candidate", candidate.ToString(CultureInfo.InvariantCulture)), ("route", route)), cancellationToken);
    public Task<RouteAdoptionDto> AdoptAsync(Guid id, AdoptRequest request, CancellationToken cancellationToken) =>
        SendAsync<RouteAdoptionDto>(HttpMethod.Post, $"api/rehearsals/{id}/adopt", request, cancellationToken);

    public Task<ExportStream> OpenRehearsalExportAsync(Guid id, string format, CancellationToken cancellationToken) =>
        OpenStreamAsync($"api/rehearsals/{id}/export?format={Uri.EscapeDataString(format)}", cancellationToken);

    // Usage and cost
    public Task<OverviewDto> GetOverviewAsync(CancellationToken cancellationToken) => GetAsync<OverviewDto>("api/stats/overview", cancellationToken);
    public Task<List<UsageByKey>> GetUsageAsync(string groupBy, DateTimeOffset? from, DateTimeOffset? to, CancellationToken cancellationToken) =>
        GetAsync<List<UsageByKey>>(Query("api/stats/usage", ("groupBy", groupBy), ("from", Iso(from)), ("to", Iso(to))), cancellationToken);
    public Task<List<UsageByDay>> GetDailyAsync(string groupBy, int days, CancellationToken cancellationToken) =>
        GetAsync<List<UsageByDay>>(Query("api/stats/daily", ("groupBy", groupBy), ("days", days.ToString(CultureInfo.InvariantCulture))), cancellationToken);
    public Task<ProviderComparison> CompareAsync(string before, string after, long monthlyCalls, CancellationToken cancellationToken) =>
        GetAsync<ProviderComparison>(Query("api/stats/compare", ("before", before), ("after", after), ("monthlyCalls", monthlyCalls.ToString(CultureInfo.InvariantCulture))), cancellationToken);

    public static string JobsUri(JobQuery q) => Query("api/jobs",
        ("page", q.Page.ToString(CultureInfo.InvariantCulture)),
        ("pageSize", q.PageSize.ToString(CultureInfo.InvariantCulture)),
        ("state", q.State?.ToString()),
        ("model", q.Model),
        ("from", Iso(q.From)),
        ("to", Iso(q.To)));

    public static string AuditUri(AuditQuery q) => Query("api/audit",
        ("page", q.Page.ToString(CultureInfo.InvariantCulture)),
        ("pageSize", q.PageSize.ToString(CultureInfo.InvariantCulture)),
        ("resourceType", q.ResourceType),
        ("resourceId", q.ResourceId),
        ("actor", q.Actor),
        ("action", q.Action),
        ("from", Iso(q.From)),
        ("to", Iso(q.To)));

    public static string TimeseriesUri(Guid id, int? bucketSeconds, DateTimeOffset? from) => Query($"api/jobs/{id}/timeseries",
        ("bucketSeconds", bucketSeconds?.ToString(CultureInfo.InvariantCulture)), ("from", Iso(from)));

    public static string ItemsUri(Guid id, ItemQuery q) => Query($"api/jobs/{id}/items",
        ("page", q.Page.ToString(CultureInfo.InvariantCulture)),
        ("pageSize", q.PageSize.ToString(CultureInfo.InvariantCulture)),
        ("state", q.State?.ToString()),
        ("errorCode", q.ErrorCode),
        ("field", q.Field),
        ("value", q.Field is null ? null : q.Value));

    private static string? Iso(DateTimeOffset? value) => value?.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static string Query(string path, params (string Name, string? Value)[] parameters)
    {
        var present = parameters.Where(p => !string.IsNullOrWhiteSpace(p.Value)).Select(p => $"{p.Name}={Uri.EscapeDataString(p.Value!)}").ToList();
        return present.Count == 0 ? path : $"{path}?{string.Join('&', present)}";
    }

    private async Task<T> GetAsync<T>(string uri, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(HttpMethod.Get, uri, null, cancellationToken);
        return await ReadAsync<T>(response, cancellationToken);
    }

    private async Task<T> SendAsync<T>(HttpMethod method, string uri, object? body, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, uri, body, cancellationToken);
        return await ReadAsync<T>(response, cancellationToken);
    }

    private async Task SendAsync(HttpMethod method, string uri, object? body, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(method, uri, body, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    /// <summary>A client without retries or timeouts, carrying the operator's token.</summary>
    private async Task<HttpClient> StreamingClientAsync()
    {
        var client = factory.CreateClient(StreamingClientName);
        client.DefaultRequestHeaders.Authorization = token is null ? null : await token.HeaderAsync();
        return client;
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string uri, object? body, CancellationToken cancellationToken)
    {
        var request = new HttpRequestMessage(method, uri);
        request.Headers.Authorization = token is null ? null : await token.HeaderAsync();
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType());
        }
        return await Guard(async () =>
        {
            using (request)
            {
                return await http.SendAsync(request, cancellationToken);
            }
        });
    }

    private async Task<T> UploadAsync<T>(string uri, JobForm form, Stream file, string fileName, CancellationToken cancellationToken)
    {
        var client = await StreamingClientAsync();
        using var content = form.ToContent(file, fileName);
        using var response = await Guard(() => client.PostAsync(uri, content, cancellationToken));
        return await ReadAsync<T>(response, cancellationToken);
    }

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        await EnsureSuccessAsync(response, cancellationToken);
        var value = await response.Content.ReadFromJsonAsync<T>(cancellationToken);
        return value ?? throw new ApiProblemException(new ApiProblem((int)response.StatusCode, "The Api answered with an empty body", null, [], new Dictionary<string, string[]>()));
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }
        var body = response.StatusCode == HttpStatusCode.NotFound && response.Content.Headers.ContentLength == 0
            ? null
            : await response.Content.ReadAsStringAsync(cancellationToken);
        throw new ApiProblemException(ApiProblem.FromResponse((int)response.StatusCode, body));
    }

    /// <summary>Turns transport failures (Api down, timeouts, circuit open) into problems a page can show.</summary>
    private static async Task<HttpResponseMessage> Guard(Func<Task<HttpResponseMessage>> call)
    {
        try
        {
            return await call();
        }
        catch (HttpRequestException e)
        {
            throw new ApiProblemException(ApiProblem.Unreachable(e.Message));
        }
        catch (Polly.Timeout.TimeoutRejectedException e)
        {
            throw new ApiProblemException(ApiProblem.Unreachable($"the Api did not answer in time ({e.Message})"));
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException e)
        {
            throw new ApiProblemException(ApiProblem.Unreachable($"calls to the Api are paused after repeated failures ({e.Message})"));
        }
    }
}
