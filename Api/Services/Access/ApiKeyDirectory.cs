using System.Collections.Concurrent;
using Npgsql;

namespace AspireBatch.Api.Services.Access;

/// <summary>A key found by its secret's hash: who it is and what it may do.</summary>
public sealed record KeyIdentity(Guid Id, string Name, string Team, string[] Scopes, int? RequestsPerMinute);

/// <summary>
/// Looks keys up by hash on every request (one index lookup; a revoked key stops at once, on every Api replica) and
/// records when each was last used, at most once a minute per key and replica so a busy key costs no write per call.
/// </summary>
public sealed class ApiKeyDirectory(NpgsqlDataSource dataSource, TimeProvider time)
{
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _lastRecorded = new();

    public async Task<KeyIdentity?> FindAsync(string secret, CancellationToken cancellationToken)
    {
        if (!secret.StartsWith(ApiKeySecrets.Marker, StringComparison.Ordinal))
        {
            return null;
        }
        await using var command = dataSource.CreateCommand(
            "SELECT id, name, team, scopes, requests_per_minute FROM api_keys WHERE hash = @hash AND revoked_at IS NULL");
        command.Parameters.AddWithValue("hash", ApiKeySecrets.Hash(secret));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }
        var key = new KeyIdentity(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<string[]>(3), reader.IsDBNull(4) ? null : reader.GetInt32(4));
        await reader.DisposeAsync();
        await RecordUseAsync(key.Id, cancellationToken);
        return key;
    }

    private async Task RecordUseAsync(Guid id, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_lastRecorded.TryGetValue(id, out var last) && now - last < LastUsedResolution)
        {
            return;
        }
        _lastRecorded[id] = now;
        await using var command = dataSource.CreateCommand("UPDATE api_keys SET last_used_at = @now WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        command.Parameters.AddWithValue("now", now);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
