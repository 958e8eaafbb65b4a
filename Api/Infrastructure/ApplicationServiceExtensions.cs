using System.Diagnostics.Metrics;
using AspireBatch.Api.Apis;
using AspireBatch.Api.Services;
using AspireBatch.Contracts;
using AspireBatch.Api.Services.Access;
using AspireBatch.Api.Services.OpenAi;
using AspireBatch.Api.Services.Rehearsals;
using AspireBatch.Data;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;
using Microsoft.OpenApi;
using Npgsql;
using Scalar.AspNetCore;

namespace AspireBatch.Api.Infrastructure;

internal static class ApplicationServiceExtensions
{
    public static void AddApplicationServices(this WebApplicationBuilder builder)
    {
        builder.AddBatchData();
        builder.AddLiveState();
        builder.Services.AddOptions<ApiOptions>().BindConfiguration("Api").ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(TimeProvider.System);

        // A caller holds a key (a team's, or the AppHost's) or an account's sign-in token; the policy scheme tells them apart.
        var authentication = builder.Services.AddAuthentication(CallerScheme);
        authentication.AddPolicyScheme(CallerScheme, null, options =>
            {
                options.ForwardDefaultSelector = http => IsAccountToken(http) ? AccountAuthenticationHandler.SchemeName : ApiKeyAuthenticationHandler.SchemeName;
                // 401 and 403 answer in one shape (ProblemDetails, or OpenAI's under /v1) whoever calls.
                options.ForwardChallenge = ApiKeyAuthenticationHandler.SchemeName;
                options.ForwardForbid = ApiKeyAuthenticationHandler.SchemeName;
            })
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddScheme<AuthenticationSchemeOptions, AccountAuthenticationHandler>(AccountAuthenticationHandler.SchemeName, null)
            .AddBearerToken(IdentityConstants.BearerScheme, options => options.BearerTokenExpiration = TimeSpan.FromHours(12));
        var sso = builder.Configuration.GetSection(SsoOptions.Section).Get<SsoOptions>() ?? new SsoOptions();
        builder.Services.AddSingleton(sso);
        if (sso.Enabled)
        {
            // Single sign-on: the provider's ID token, for the Dashboard (its audience), trades for an account's token.
            authentication.AddJwtBearer(AccountsApi.SsoScheme, options =>
            {
                options.Authority = sso.Authority;
                options.Audience = sso.ClientId;
                options.RequireHttpsMetadata = sso.RequireHttpsMetadata;
                options.MapInboundClaims = false;
            });
        }
        builder.Services.AddOperatorAccounts().AddSignInManager();
        builder.Services.AddScoped<AccountStore>();
        builder.Services.AddAuthorization();
        builder.Services.AddHttpContextAccessor();
        builder.Services.AddScoped<CallerAccess>();
        builder.Services.AddSingleton<ApiKeyDirectory>();
        builder.Services.AddScoped<ApiKeyStore>();
        builder.Services.AddKeyRateLimits();
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<DatabaseLostHandler>();
        builder.Services.Configure<FormOptions>(o => o.MultipartBodyLengthLimit = long.MaxValue);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = null);
        builder.Services.AddOpenApi(options => options.AddSchemaTransformer<OpenApiExamples>().AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "AspireBatch API",
                Version = "v1",
                Description = "Run millions of records through any OpenAI-compatible model. Every call needs `Authorization: Bearer <api-key>`.",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["bearer"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "The AppHost parameter api-key.",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("bearer", document)] = [] }];
            return Task.CompletedTask;
        }));

        builder.Services.AddScoped<CatalogService>();
        builder.Services.AddScoped<JobImporter>();
        builder.Services.AddScoped<JobQueries>();
        builder.Services.AddSingleton<AnswerFieldQueries>();
        builder.Services.AddScoped<JobCommands>();
        builder.Services.AddScoped<UsageQueries>();
        builder.Services.AddScoped<JobTimeseriesQueries>();
        builder.Services.AddScoped<ProviderBatchQueries>();
        builder.Services.AddSingleton<ResultExporter>();
        builder.Services.AddScoped<FileStore>();
        builder.Services.AddScoped<BatchService>();
        builder.Services.AddScoped<RehearsalPlanner>();
        builder.Services.AddScoped<RehearsalReports>();
        builder.Services.AddScoped<RehearsalCommands>();
        builder.AddModelListProbe();
        builder.Services.AddSingleton(sp => new QueueTelemetry(sp.GetRequiredService<IMeterFactory>(),
            ct => QueueTelemetry.CountPendingAsync(sp.GetRequiredService<NpgsqlDataSource>(), ct),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<QueueTelemetry>>()));
    }

    private const string CallerScheme = "Caller";

    /// <summary>A bearer value that is neither a team's key (abk_…) nor the AppHost's key is an account's token.</summary>
    private static bool IsAccountToken(HttpContext http)
    {
        var header = http.Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }
        var value = header["Bearer ".Length..].Trim();
        return !value.StartsWith(ApiKeySecrets.Marker, StringComparison.Ordinal)
            && !ApiKeyAuthenticationHandler.IsAppHostKey(value, http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.Key);
    }

    public static void UseApiDefaults(this WebApplication app)
    {
        // Created at start so its gauge exists before the first collection.
        app.Services.GetRequiredService<QueueTelemetry>();
        // A form value of the wrong type ("maxTokens=many") is the caller's mistake: keep its 400, not a 500.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseOwnership();
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference(options => options.WithTitle("AspireBatch API")).AllowAnonymous();
    }
}
