using System.Net.Sockets;
using Npgsql;

namespace AspireBatch.Data.Services;

public static class DatabaseFaults
{
    /// <summary>
    /// Runs <paramref name="work"/>, and once more on fresh connections when the first try met a connection that a
    /// Postgres restart had killed in the pool. Only for work that stored nothing before it failed (its own
    /// transaction rolled back, or a read).
    /// </summary>
    public static async Task<T> ReopenOnceAsync<T>(Func<Task<T>> work)
    {
        try
        {
            return await work();
        }
        catch (Exception e) when (IsConnectionLost(e))
        {
            NpgsqlConnection.ClearAllPools();
            return await work();
        }
    }

    /// <summary>
    /// The connection to Postgres was lost under the statement (a restart or failover terminated it, the network cut
    /// it, or it could not be opened): the statement did not complete, and a pooled connection opened before may be
    /// dead too. Not a fault of the request.
    /// </summary>
    public static bool IsConnectionLost(Exception exception) => exception switch
    {
        // 57P01-57P03: administrator shutdown, crash shutdown, cannot connect now; class 08: connection exceptions.
        PostgresException postgres => postgres.SqlState is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
            or PostgresErrorCodes.CannotConnectNow || postgres.SqlState.StartsWith("08", StringComparison.Ordinal),
        NpgsqlException { InnerException: IOException or SocketException or TimeoutException } => true,
        _ => exception.InnerException is { } inner && IsConnectionLost(inner),
    };
}
