using System.Security.Claims;
using AspireBatch.Contracts;

namespace AspireBatch.Api.Services.Access;

/// <summary>
/// What a scope allows, in one place: an admin key everything; a key with the scope an endpoint asks for, that
/// endpoint; a read-only key the reads (GET, HEAD) of the jobs and batches endpoints.
/// </summary>
public static class ScopeRules
{
    public static bool Allows(ClaimsPrincipal user, string scope, string method)
    {
        if (CallerAccess.Has(user, ApiScopes.Admin) || CallerAccess.Has(user, scope))
        {
            return true;
        }
        var read = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        return read && scope is ApiScopes.Jobs or ApiScopes.Batches && CallerAccess.Has(user, ApiScopes.ReadOnly);
    }

    /// <summary>Requires <paramref name="scope"/> (see <see cref="Allows"/>) on every endpoint of the group.</summary>
    public static TBuilder RequireScope<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.RequireAuthorization(policy => policy.RequireAuthenticatedUser().RequireAssertion(context =>
            context.Resource is HttpContext http && Allows(context.User, scope, http.Request.Method)));

    /// <summary>
    /// Reads for every key; changes only for admin keys (providers, models, prices, aliases, routes), or for a key with
    /// the scope an endpoint names with <see cref="AlsoAllows"/>.
    /// </summary>
    public static TBuilder RequireAdminToChange<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        // Authenticated first: a read without a key is a 401 like any other call.
        builder.RequireAuthorization(policy => policy.RequireAuthenticatedUser().RequireAssertion(context =>
            context.Resource is HttpContext http && (HttpMethods.IsGet(http.Request.Method) || HttpMethods.IsHead(http.Request.Method)
                || CallerAccess.Has(context.User, ApiScopes.Admin)
                || http.GetEndpoint()?.Metadata.GetMetadata<AlsoAllowedScope>() is { } also && CallerAccess.Has(context.User, also.Scope))));

    /// <summary>Lets a key with <paramref name="scope"/> make this change, besides admin keys.</summary>
    public static TBuilder AlsoAllows<TBuilder>(this TBuilder builder, string scope) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new AlsoAllowedScope(scope));
}

/// <summary>Endpoint metadata: a scope that may make this change besides admin (<see cref="ScopeRules.AlsoAllows"/>).</summary>
public sealed record AlsoAllowedScope(string Scope);
