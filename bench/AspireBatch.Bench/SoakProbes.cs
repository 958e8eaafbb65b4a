using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;

namespace AspireBatch.Bench;

/// <summary>A service process of this stack: found by program name and by the database it was handed (as the tests find them).</summary>
internal sealed record ServiceProcess(string Name, int Pid)
{
    public static List<ServiceProcess> Find(string database)
    {
        var found = new List<(string Program, int Pid)>();
        foreach (var directory in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }
            try
            {
                var program = Path.GetFileName(File.ReadAllText($"/proc/{pid}/cmdline").Split('\0')[0]);
                if (program is "AspireBatch.Api" or "AspireBatch.Worker"
                    && File.ReadAllText($"/proc/{pid}/environ").Split('\0').Contains($"ConnectionStrings__batchdb={database}"))
                {
                    found.Add((program, pid));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }
        var workers = 0;
        return [.. found.OrderBy(p => p.Program).ThenBy(p => p.Pid)
            .Select(p => new ServiceProcess(p.Program == "AspireBatch.Api" ? "api" : $"worker-{++workers}", p.Pid))];
    }
}

/// <summary>
/// Peak resident memory of each service process, from /proc/&lt;pid&gt;/status: VmRSS sampled every second, and VmHWM
/// (the kernel's own high-water mark, reset through clear_refs at the start when the kernel allows it).
/// </summary>
internal sealed class MemorySampler(IReadOnlyList<ServiceProcess> processes)
{
    private readonly Dictionary<int, long> _peakSampled = [];
    private readonly Dictionary<int, long> _last = [];
    private readonly Dictionary<int, long> _atMark = [];
    private readonly Dictionary<int, long> _atStop = [];
    private readonly Dictionary<int, long> _firstHalf = [];
    private readonly Dictionary<int, long> _secondHalf = [];
    public bool HighWaterReset { get; private set; }

    public IReadOnlyList<ServiceProcess> Processes => processes;

    public void Start()
    {
        HighWaterReset = true;
        foreach (var process in processes)
        {
            try
            {
                // "5" resets the peak RSS (VmHWM) to the current RSS (Linux 4.0+).
                File.WriteAllText($"/proc/{process.Pid}/clear_refs", "5");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                HighWaterReset = false;
            }
        }
        Sample();
    }

    /// <param name="progress">Share of the job done, to split the peak into the first and the second half of the run.</param>
    public void Sample(double progress = -1)
    {
        foreach (var process in processes)
        {
            var rss = Read(process.Pid, "VmRSS:");
            if (rss > 0)
            {
                _last[process.Pid] = rss;
                _peakSampled[process.Pid] = Math.Max(_peakSampled.GetValueOrDefault(process.Pid), rss);
                var half = progress switch { < 0 => null, < 0.5 => _firstHalf, _ => _secondHalf };
                if (half is not null)
                {
                    half[process.Pid] = Math.Max(half.GetValueOrDefault(process.Pid), rss);
                }
            }
        }
    }

    /// <summary>Sampled VmRSS peak while the first half of the records ran, and while the second half did: growth with records shows here.</summary>
    public (long First, long Second) Halves(ServiceProcess process) =>
        (_firstHalf.GetValueOrDefault(process.Pid), _secondHalf.GetValueOrDefault(process.Pid));

    /// <summary>Remembers the peaks so far (e.g. at the end of the upload) for <see cref="PeakAtMark"/>.</summary>
    public void Mark()
    {
        Sample();
        foreach (var process in processes)
        {
            _atMark[process.Pid] = Peak(process);
        }
    }

    public long PeakAtMark(ServiceProcess process) => _atMark.GetValueOrDefault(process.Pid);

    public long Current(ServiceProcess process) => _last.GetValueOrDefault(process.Pid);

    /// <summary>Freezes the peaks at the job's end: the same processes go on to the next job.</summary>
    public void Stop()
    {
        Sample();
        foreach (var process in processes)
        {
            _atStop[process.Pid] = Peak(process);
        }
    }

    /// <summary>Bytes: the larger of the sampled VmRSS peak and VmHWM (when VmHWM was reset at the start).</summary>
    public long Peak(ServiceProcess process)
    {
        if (_atStop.TryGetValue(process.Pid, out var frozen))
        {
            return frozen;
        }
        var sampled = _peakSampled.GetValueOrDefault(process.Pid);
        return HighWaterReset ? Math.Max(sampled, Read(process.Pid, "VmHWM:")) : sampled;
    }

    private static long Read(int pid, string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    // "VmRSS:	  123456 kB"
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
        return 0;
    }
}

/// <summary>One run of the claim statement, from EXPLAIN (ANALYZE, BUFFERS) in a rolled-back transaction.</summary>
internal sealed record ClaimSample(double Progress, double ExecutionMs, long Buffers, long Rows);

/// <summary>
/// Runs the Worker's claim statement (the text of ItemLifecycle.ClaimAsync in Data/Lifecycle, kept identical here) under EXPLAIN (ANALYZE, BUFFERS)
/// in a transaction that is rolled back, ten times a second, against the job being soaked: the same plan, the same
/// indexes and the same dead tuples the workers' claims meet. The rows it locks for a millisecond are skipped by the
/// workers (SKIP LOCKED) and claimed by them after the rollback.
/// </summary>
internal sealed class ClaimProbe(string database, Guid jobId, int count)
{
    public const string ClaimSql = """
        UPDATE items SET state = @running, lease_token = @token, lease_expires_at = now() + make_interval(secs => @lease),
                         started_at = coalesce(started_at, now())
        WHERE id IN (SELECT id FROM items WHERE job_id = @job AND state = @pending AND duplicate_of IS NULL ORDER BY id LIMIT @count FOR UPDATE SKIP LOCKED)
        RETURNING id, custom_id, payload::text, estimated_input_tokens, internal_errors
        """;

    public List<ClaimSample> Samples { get; } = [];

    public async Task RunAsync(Func<double> progress, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(database);
            await connection.OpenAsync(cancellationToken);
            while (!cancellationToken.IsCancellationRequested)
            {
                var at = progress();
                await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
                {
                    await using var command = new NpgsqlCommand("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + ClaimSql, connection, transaction);
                    command.Parameters.AddWithValue("token", Guid.NewGuid());
                    command.Parameters.AddWithValue("lease", 60.0);
                    command.Parameters.AddWithValue("job", jobId);
                    command.Parameters.AddWithValue("count", count);
                    command.Parameters.AddWithValue("running", (int)AspireBatch.Contracts.ItemState.Running);
                    command.Parameters.AddWithValue("pending", (int)AspireBatch.Contracts.ItemState.Pending);
                    var plan = Convert.ToString(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture)!;
                    await transaction.RollbackAsync(cancellationToken);
                    using var document = JsonDocument.Parse(plan);
                    var root = document.RootElement[0];
                    var top = root.GetProperty("Plan");
                    Samples.Add(new ClaimSample(at,
                        root.GetProperty("Planning Time").GetDouble() + root.GetProperty("Execution Time").GetDouble(),
                        top.GetProperty("Shared Hit Blocks").GetInt64() + top.GetProperty("Shared Read Blocks").GetInt64(),
                        top.GetProperty("Actual Rows").GetInt64()));
                }
                await Task.Delay(100, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public static double Percentile(IReadOnlyList<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToArray();
        return sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }
}

/// <summary>The workers' own claim statements as pg_stat_statements counts them (calls, mean, stddev, max).</summary>
internal sealed record StatementWindow(long Calls, double MeanMs, double StddevMs, double MaxMs, double RowsPerCall);

internal static class ClaimStatements
{
    // The statement's parameters appear as $n (and any constant is normalized to $n too).
    private const string Match = "UPDATE items SET state = $%, lease_token = $%FOR UPDATE SKIP LOCKED%";

    /// <summary>Whether pg_stat_statements answers (it needs shared_preload_libraries, hence a restart of the throw-away server).</summary>
    public static async Task<bool> AvailableAsync(string database)
    {
        try
        {
            await using var connection = new NpgsqlConnection(database);
            await connection.OpenAsync();
            await using (var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection))
            {
                await create.ExecuteNonQueryAsync();
            }
            await using var probe = new NpgsqlCommand("SELECT count(*) FROM pg_stat_statements", connection);
            await probe.ExecuteScalarAsync();
            return true;
        }
        catch (PostgresException)
        {
            return false;
        }
    }

    public static async Task<bool> PreloadedAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SHOW shared_preload_libraries", connection);
        return Convert.ToString(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture)!.Contains("pg_stat_statements", StringComparison.Ordinal);
    }

    public static async Task PreloadAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'", connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task ResetAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(pg_stat_statements_reset(0, 0, queryid)) FROM pg_stat_statements WHERE query LIKE @match", connection);
        command.Parameters.AddWithValue("match", Match);
        await command.ExecuteScalarAsync();
    }

    public static async Task<StatementWindow?> ReadAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT calls, mean_exec_time, stddev_exec_time, max_exec_time, rows::float8 / greatest(calls, 1)
            FROM pg_stat_statements WHERE query LIKE @match ORDER BY calls DESC LIMIT 1
            """, connection);
        command.Parameters.AddWithValue("match", Match);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync()
            ? new StatementWindow(reader.GetInt64(0), reader.GetDouble(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4))
            : null;
    }
}

/// <summary>On-disk size of the tables a job writes (heap with TOAST, and indexes), and their dead tuples.</summary>
internal sealed record TableSize(string Table, long Total, long Indexes, long DeadTuples, long LiveTuples)
{
    public static readonly string[] Tables = ["items", "attempts", "files", "jobs"];

    public static async Task<Dictionary<string, TableSize>> ReadAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT c.relname, pg_total_relation_size(c.oid), pg_indexes_size(c.oid), coalesce(s.n_dead_tup, 0), coalesce(s.n_live_tup, 0)
            FROM pg_class c LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.relname = ANY(@tables) AND c.relkind = 'r'
            """, connection);
        command.Parameters.AddWithValue("tables", Tables);
        var sizes = new Dictionary<string, TableSize>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            sizes[reader.GetString(0)] = new TableSize(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4));
        }
        return sizes;
    }
}

/// <summary>What the items heap holds, from pgstattuple: live rows, dead rows not yet vacuumed, free space.</summary>
internal sealed record HeapContents(long TableBytes, long LiveBytes, long DeadBytes, long FreeBytes)
{
    public static async Task<HeapContents?> ReadAsync(string database, string table)
    {
        try
        {
            await using var connection = new NpgsqlConnection(database);
            await connection.OpenAsync();
            await using (var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pgstattuple", connection))
            {
                await create.ExecuteNonQueryAsync();
            }
            await using var command = new NpgsqlCommand("SELECT table_len, tuple_len, dead_tuple_len, free_space FROM pgstattuple(@table::regclass)", connection);
            command.Parameters.AddWithValue("table", table);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            return new HeapContents(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
        }
        catch (PostgresException)
        {
            return null;
        }
    }
}

internal static class Units
{
    public static string Mb(long bytes) => (bytes / 1048576.0).ToString("N0", CultureInfo.InvariantCulture) + " MB";

    public static double Seconds(Stopwatch watch) => watch.Elapsed.TotalSeconds;
}

/// <summary>Records/s before, during and after a Redis outage, and what the job ended with.</summary>
internal sealed record OutageResult(
    int Items, AspireBatch.Contracts.JobState State, int Failed, double Before, double During, double After, double OutageSeconds,
    string Health, long HealthMs, long InternalAttempts, bool FinishedEarly)
{
    public string Describe() =>
        string.Create(CultureInfo.InvariantCulture,
            $"before {Before:N1} records/s, during {During:N1}, after {After:N1} -> during/before {During / Before:N3}; " +
            $"Redis away {OutageSeconds:N1} s; /health during: {Health} in {HealthMs} ms; {Items:N0} records, job {State}, failed {Failed} (goal 0), " +
            $"{InternalAttempts} internal attempts{(FinishedEarly ? "; the job finished before the after window ended, so 'after' is low" : "")}");
}

internal sealed record SoakResult(
    MemorySampler Memory, List<ClaimSample> Claims, StatementWindow? StartStatements, StatementWindow? EndStatements,
    Dictionary<string, TableSize> SizesBefore, Dictionary<string, TableSize> SizesAfter, HeapContents? ItemsHeap,
    double RunRate, double EndToEndRate, double UploadSeconds, double RunSeconds, int Failed);
