using AspireBatch.Contracts;
using AspireBatch.Data.Lifecycle;
using Npgsql;
using NpgsqlTypes;

namespace AspireBatch.Worker.Execution;

/// <summary>
/// The Worker's bookkeeping on records it holds, which changes no state: lease renewals and the marks of calls about
/// to be sent. Claims, releases and results are record transitions, in <see cref="ItemLifecycle"/>.
/// </summary>
public sealed class ItemStore(NpgsqlDataSource dataSource)
{
    public async Task RenewAsync(Guid[] tokens, int leaseSeconds, CancellationToken cancellationToken)
    {
        if (tokens.Length == 0)
        {
            return;
        }
        // Rows are locked in id order here, in MarkCallsAsync and in ItemLifecycle.WriteAsync, so the three never deadlock.
        await using var command = dataSource.CreateCommand("""
            WITH locked AS (SELECT id FROM items WHERE lease_token = ANY(@tokens) AND state = @running ORDER BY id FOR UPDATE)
            UPDATE items SET lease_expires_at = now() + make_interval(secs => @lease) FROM locked WHERE items.id = locked.id
            """);
        command.Parameters.AddWithValue("lease", (double)leaseSeconds);
        command.Parameters.AddWithValue("tokens", tokens);
        command.Parameters.AddWithValue("running", (int)ItemState.Running);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Calls about to be sent, written before they go (see <see cref="CallJournal"/>); fenced by the lease like results.</summary>
    public async Task MarkCallsAsync(IReadOnlyList<CallJournal.CallMark> marks, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            WITH r AS (
                SELECT id, token, count(*)::int AS calls, sum(cost) AS cost, (array_agg(provider_id))[1] AS provider_id, (array_agg(model))[1] AS model
                FROM unnest(@ids, @tokens, @costs, @providers, @models) AS m(id, token, cost, provider_id, model)
                GROUP BY id, token),
            locked AS (SELECT id FROM items WHERE id IN (SELECT id FROM r) ORDER BY id FOR UPDATE)
            UPDATE items i SET calls_in_flight = i.calls_in_flight + r.calls, in_flight_cost_usd = i.in_flight_cost_usd + r.cost,
                               in_flight_provider_id = r.provider_id, in_flight_model = r.model
            FROM r JOIN locked l ON l.id = r.id
            WHERE i.id = r.id AND i.lease_token = r.token AND i.state = @running
            """);
        command.Parameters.Add(Array("ids", NpgsqlDbType.Bigint, marks.Select(m => m.Item.Id)));
        command.Parameters.Add(Array("tokens", NpgsqlDbType.Uuid, marks.Select(m => m.Item.LeaseToken)));
        command.Parameters.Add(Array("costs", NpgsqlDbType.Numeric, marks.Select(m => m.PossibleCostUsd)));
        command.Parameters.Add(Array("providers", NpgsqlDbType.Uuid, marks.Select(m => m.Target.ProviderId)));
        command.Parameters.Add(Array("models", NpgsqlDbType.Text, marks.Select(m => m.Target.Model)));
        command.Parameters.AddWithValue("running", (int)ItemState.Running);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static NpgsqlParameter Array<T>(string name, NpgsqlDbType type, IEnumerable<T> values) =>
        new(name, NpgsqlDbType.Array | type) { Value = values.ToArray() };
}
