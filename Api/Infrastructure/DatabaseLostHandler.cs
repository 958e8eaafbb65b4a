using AspireBatch.Data.Services;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace AspireBatch.Api.Infrastructure;

/// <summary>
/// A request that met a lost database connection (Postgres restarting, or its pooled connections broken by a restart)
/// answers 503 with Retry-After, not 500: the statement did not complete, so retrying is safe. The pools are cleared
/// so the retry gets a fresh connection instead of the next dead one.
/// </summary>
internal sealed class DatabaseLostHandler(IProblemDetailsService problems, ILogger<DatabaseLostHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (!DatabaseFaults.IsConnectionLost(exception))
        {
            return false;
        }
        NpgsqlConnection.ClearAllPools();
        logger.LogWarning(exception, "{Method} {Path} met a lost database connection; answered 503 and cleared the connection pools", context.Request.Method, context.Request.Path);
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = "1";
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "The database connection was lost",
                Detail = "The request did not complete and nothing of it was stored; retry it (Postgres may be restarting).",
            },
        });
    }
}
