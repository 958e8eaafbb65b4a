using System.Globalization;
using System.Threading.RateLimiting;
using AspireBatch.Api.Infrastructure;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace AspireBatch.Api.Services.Access;

/// <summary>
/// A key's requests per minute on the Api: a sliding window of one minute in six steps, per key and per Api replica
/// (with N replicas behind a balancer a key gets up to N times its limit; the provider limits the Worker keeps are the
/// ones shared through Redis). Keys without a limit, and the AppHost's key, are not limited.
/// </summary>
public static class KeyRateLimits
{
    public const string SignInPolicy = "sign-in";
    private const int Segments = 6;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Segment = Window / Segments;

    public static IServiceCollection AddKeyRateLimits(this IServiceCollection services) => services.AddRateLimiter(options =>
    {
        options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
        {
            var user = http.User;
            return user.FindFirst(CallerAccess.KeyIdClaim)?.Value is { } key
                && int.TryParse(user.FindFirst(CallerAccess.RequestsPerMinuteClaim)?.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var limit)
                ? RateLimitPartition.GetSlidingWindowLimiter($"{key}:{limit}", _ => new SlidingWindowRateLimiterOptions
                {
                    PermitLimit = limit, Window = Window, SegmentsPerWindow = Segments, QueueLimit = 0, AutoReplenishment = true,
                })
                : RateLimitPartition.GetNoLimiter("unlimited");
        });
        // Sign-ins per client address (the Dashboard's, for the people signing in through it), besides each account's lockout.
        options.AddPolicy(SignInPolicy, http =>
        {
            var limit = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.SignInsPerMinute;
            return RateLimitPartition.GetFixedWindowLimiter($"{http.Connection.RemoteIpAddress}:{limit}",
                _ => new FixedWindowRateLimiterOptions { PermitLimit = limit, Window = Window, QueueLimit = 0, AutoReplenishment = true });
        });
        options.OnRejected = async (context, cancellationToken) =>
        {
            var http = context.HttpContext;
            http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            // A sliding window frees permits one segment (10 s) at a time when the limiter names no wait of its own.
            var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : Segment;
            http.Response.Headers.RetryAfter = Math.Max(1, Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            var signIn = http.GetEndpoint()?.Metadata.GetMetadata<EnableRateLimitingAttribute>()?.PolicyName == SignInPolicy;
            await TypedResults.Problem(signIn ? "Too many sign-ins from this address; wait for Retry-After." : "This key's requests per minute are used up; wait for Retry-After.",
                title: "Too many requests",
                statusCode: StatusCodes.Status429TooManyRequests).ExecuteAsync(http);
        };
    });
}
