using AspireBatch.Contracts;
using Npgsql;

namespace AspireBatch.Api.Services;

/// <summary>
/// Aggregates over typed answer fields, computed in Postgres with try_jsonb (migration AnswerFields) so a million
/// answers are never read into the Api.
/// </summary>
public sealed class AnswerFieldQueries(NpgsqlDataSource dataSource)
{
    public const int TopValues = 20;

    // The group of answers without the value (not JSON, or no such path) sorts first, then the most frequent values;
    // the window sum counts every succeeded item, so "other" is what the limit left out.
    private const string DistributionQuery = """
        WITH answers AS (
            SELECT try_jsonb(response_text) #>> @path AS value FROM items WHERE job_id = @job AND state = @succeeded
        )
        SELECT value, count(*) AS n, sum(count(*)) OVER () AS total
        FROM answers GROUP BY value
        ORDER BY value IS NULL DESC, n DESC, value
        LIMIT @limit
        """;

    /// <summary>Counts per value of <paramref name="field"/> over the job's succeeded items (the caller checked the job exists).</summary>
    public async Task<FieldDistribution> DistributionAsync(Guid jobId, string field, string[] path, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(DistributionQuery);
        command.Parameters.AddWithValue("path", path);
        command.Parameters.AddWithValue("job", jobId);
        command.Parameters.AddWithValue("succeeded", (int)ItemState.Succeeded);
        command.Parameters.AddWithValue("limit", TopValues + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var values = new List<FieldValueCount>();
        long missing = 0, total = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var count = reader.GetInt64(1);
            total = (long)reader.GetDecimal(2);
            if (reader.IsDBNull(0))
            {
                missing = count;
            }
            else if (values.Count < TopValues)
            {
                values.Add(new FieldValueCount(reader.GetString(0), count));
            }
        }
        return new FieldDistribution(field, values, total - missing - values.Sum(v => v.Count), missing);
    }
}
