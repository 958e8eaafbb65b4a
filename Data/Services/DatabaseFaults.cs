using System.Net.Sockets;
using Npgsql;

namespace AspireBatch.Data.Services;

public static class DatabaseFaults
{
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
