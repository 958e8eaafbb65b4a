using AspireBatch.Api.Infrastructure;
using AspireBatch.Api.Services.Access;
using AspireBatch.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Api.Apis;

public static class KeysApi
{
    public static RouteGroupBuilder MapKeysApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/keys").WithTags("Access").RequireScope(ApiScopes.Admin).Audited(AuditResourceTypes.Key, AuditSnapshots.Key);
        api.MapGet("/", ListKeys).WithName("ListApiKeys").WithSummary("Teams' API keys, newest first, with their month's spend and last use; never their secrets");
        api.MapPost("/", CreateKey).WithName("CreateApiKey")
            .WithSummary("Create a key for a team, with scopes (jobs, batches, providers:admin, read-only), an optional requests-per-minute limit and monthly budget; the secret is in this answer only");
        api.MapDelete("/{id:guid}", RevokeKey).WithName("RevokeApiKey").WithSummary("Revoke a key: its next request is refused");
        return api;
    }

    public static async Task<Ok<IReadOnlyList<ApiKeyDto>>> ListKeys(ApiKeyStore keys, CancellationToken cancellationToken) =>
        TypedResults.Ok(await keys.ListAsync(cancellationToken));

    public static async Task<Results<Created<CreatedApiKey>, ProblemHttpResult>> CreateKey(CreateApiKeyRequest request, ApiKeyStore keys, CancellationToken cancellationToken)
    {
        if (ApiKeyStore.Errors(request) is { Count: > 0 } errors)
        {
            return TypedResults.Problem(string.Join("; ", errors), title: "Invalid key request", statusCode: StatusCodes.Status400BadRequest);
        }
        var created = await keys.CreateAsync(request, cancellationToken);
        return TypedResults.Created($"/api/keys/{created.Key.Id}", created);
    }

    public static async Task<Results<NoContent, NotFound>> RevokeKey(Guid id, ApiKeyStore keys, CancellationToken cancellationToken) =>
        await keys.RevokeAsync(id, cancellationToken) ? TypedResults.NoContent() : TypedResults.NotFound();
}
