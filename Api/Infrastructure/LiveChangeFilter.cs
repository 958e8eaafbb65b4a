using AspireBatch.Data.Live;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AspireBatch.Api.Infrastructure;

public static class LiveChangeFilter
{
    /// <summary>
    /// Every successful change through this group's endpoints (any method but GET, and not a connection test)
    /// announces itself through <paramref name="announce"/>, so open Dashboard pages update live.
    /// </summary>
    public static RouteGroupBuilder AnnouncesChanges(this RouteGroupBuilder group, Func<LivePublisher, HttpRequest, Task> announce)
    {
        group.AddEndpointFilter(async (context, next) =>
        {
            var result = await next(context);
            var request = context.HttpContext.Request;
            var inner = result is INestedHttpResult nested ? nested.Result : result;
            if (!HttpMethods.IsGet(request.Method) && !request.Path.Value!.EndsWith("/test", StringComparison.Ordinal)
                && inner is IStatusCodeHttpResult { StatusCode: >= 200 and < 300 })
            {
                await announce(context.HttpContext.RequestServices.GetRequiredService<LivePublisher>(), request);
            }
            return result;
        });
        return group;
    }
}
