using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AspireBatch.Bench;

/// <summary>One span as OTLP carries it: ids, parent, name, kind and its start and end in Unix nanoseconds.</summary>
internal sealed record OtlpSpan(string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, ulong StartNanos, ulong EndNanos)
{
    public double DurationMs => (EndNanos - StartNanos) / 1e6;
}

/// <summary>
/// A minimal OTLP/HTTP (protobuf) trace receiver for the latency phase: the workers and the simulator export their
/// spans here (OTEL_EXPORTER_OTLP_ENDPOINT, http/protobuf). It reads only what the phase needs from the wire format
/// (ExportTraceServiceRequest → ResourceSpans → ScopeSpans → Span: trace_id 1, span_id 2, parent_span_id 4, name 5,
/// kind 6, start 7, end 8) and answers metrics and logs with 200 and nothing kept.
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    public ConcurrentQueue<OtlpSpan> Spans { get; } = new();
    public string Endpoint { get; }

    private OtlpReceiver(WebApplication app, string endpoint) => (_app, Endpoint) = (app, endpoint);

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        OtlpReceiver? receiver = null;
        app.MapPost("/v1/traces", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            if (receiver is { } r)
            {
                foreach (var span in Decode(body.ToArray()))
                {
                    r.Spans.Enqueue(span);
                }
            }
            return Results.Bytes([], "application/x-protobuf");
        });
        app.MapPost("/v1/{signal}", () => Results.Bytes([], "application/x-protobuf"));
        await app.StartAsync();
        receiver = new OtlpReceiver(app, app.Urls.First());
        return receiver;
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();

    private static IEnumerable<OtlpSpan> Decode(byte[] request)
    {
        var spans = new List<OtlpSpan>();
        foreach (var resourceSpans in Fields(request, 1))
        {
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                foreach (var span in Fields(scopeSpans, 2))
                {
                    spans.Add(ReadSpan(span));
                }
            }
        }
        return spans;
    }

    private static OtlpSpan ReadSpan(ReadOnlyMemory<byte> span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        int kind = 0;
        ulong start = 0, end = 0;
        var reader = new Wire(span);
        while (reader.Next(out var field, out var type))
        {
            switch (field, type)
            {
                case (1, 2): traceId = Convert.ToHexString(reader.Bytes().Span); break;
                case (2, 2): spanId = Convert.ToHexString(reader.Bytes().Span); break;
                case (4, 2): parent = Convert.ToHexString(reader.Bytes().Span); break;
                case (5, 2): name = Encoding.UTF8.GetString(reader.Bytes().Span); break;
                case (6, 0): kind = (int)reader.Varint(); break;
                case (7, 1): start = reader.Fixed64(); break;
                case (8, 1): end = reader.Fixed64(); break;
                default: reader.Skip(type); break;
            }
        }
        return new OtlpSpan(traceId, spanId, parent, name, kind, start, end);
    }

    /// <summary>The length-delimited values of one field number of a message.</summary>
    private static List<ReadOnlyMemory<byte>> Fields(ReadOnlyMemory<byte> message, int number)
    {
        var found = new List<ReadOnlyMemory<byte>>();
        var reader = new Wire(message);
        while (reader.Next(out var field, out var type))
        {
            if (field == number && type == 2)
            {
                found.Add(reader.Bytes());
            }
            else
            {
                reader.Skip(type);
            }
        }
        return found;
    }

    private sealed class Wire(ReadOnlyMemory<byte> data)
    {
        private int _at;

        public bool Next(out int field, out int type)
        {
            if (_at >= data.Length)
            {
                (field, type) = (0, 0);
                return false;
            }
            var key = Varint();
            (field, type) = ((int)(key >> 3), (int)(key & 7));
            return true;
        }

        public ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = data.Span[_at++];
                value |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
        }

        public ulong Fixed64()
        {
            var value = BitConverter.ToUInt64(data.Span.Slice(_at, 8));
            _at += 8;
            return value;
        }

        public ReadOnlyMemory<byte> Bytes()
        {
            var length = (int)Varint();
            var slice = data.Slice(_at, length);
            _at += length;
            return slice;
        }

        public void Skip(int type)
        {
            switch (type)
            {
                case 0: Varint(); break;
                case 1: _at += 8; break;
                case 2: Bytes(); break;
                case 5: _at += 4; break;
                default: throw new InvalidDataException($"OTLP: wire type {type} not expected");
            }
        }
    }
}

/// <summary>
/// CPU time by part of the stack over a window, from /proc/&lt;pid&gt;/stat (utime + stime, in clock ticks of 10 ms):
/// Postgres (every backend), Redis, the Api, each worker, the simulators, the bench itself, and the rest (the
/// orchestrator and its proxies, other engineers' work); with the machine's idle time from /proc/stat. Children a
/// process reaped count with it (Postgres backends that ended with the postmaster).
/// </summary>
internal sealed class CpuAccount
{
    private const double TickSeconds = 0.01;
    private Dictionary<int, (string Part, long Ticks)> _start = [];
    private long _idleStart, _totalStart;
    private readonly Stopwatch _watch = new();

    public void Start()
    {
        _start = Read();
        (_idleStart, _totalStart) = Machine();
        _watch.Restart();
    }

    /// <summary>CPU seconds by part since <see cref="Start"/>, the machine's idle share, and the wall seconds.</summary>
    public (Dictionary<string, double> Parts, double IdleShare, double WallSeconds) Stop()
    {
        var wall = _watch.Elapsed.TotalSeconds;
        var end = Read();
        var (idle, total) = Machine();
        var parts = new Dictionary<string, double>();
        foreach (var (pid, (part, ticks)) in end)
        {
            var before = _start.TryGetValue(pid, out var s) ? s.Ticks : 0;
            parts[part] = parts.GetValueOrDefault(part) + (ticks - before) * TickSeconds;
        }
        return (parts, total == _totalStart ? 0 : (double)(idle - _idleStart) / (total - _totalStart), wall);
    }

    public static string Describe(Dictionary<string, double> parts, double wall) =>
        string.Join(", ", parts.Where(p => p.Value / wall >= 0.01).OrderByDescending(p => p.Value)
            .Select(p => $"{p.Key} {p.Value / wall:N2}"));

    /// <summary>Workers summed into one part (their count in the name), for lines that compare runs with different counts.</summary>
    public static Dictionary<string, double> Grouped(Dictionary<string, double> parts)
    {
        var workers = parts.Where(p => p.Key.StartsWith("worker ", StringComparison.Ordinal)).ToList();
        var grouped = parts.Where(p => !p.Key.StartsWith("worker ", StringComparison.Ordinal)).ToDictionary(p => p.Key, p => p.Value);
        grouped[$"workers ({workers.Count(w => w.Value > 0.05)} busy)"] = workers.Sum(w => w.Value);
        return grouped;
    }

    private static (long Idle, long Total) Machine()
    {
        var cpu = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        return (cpu[3] + cpu[4], cpu.Take(8).Sum());
    }

    private static Dictionary<int, (string, long)> Read()
    {
        var self = Environment.ProcessId;
        var found = new Dictionary<int, (string, long)>();
        foreach (var directory in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var close = stat.LastIndexOf(')');
                var fields = stat[(close + 2)..].Split(' ');
                // utime + stime, and cutime + cstime: the children it reaped (a postmaster's exited backends, psql under the bench).
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)
                    + long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
                var program = Path.GetFileName(File.ReadAllText($"/proc/{pid}/cmdline").Split('\0')[0]);
                var comm = stat[(stat.IndexOf('(') + 1)..close];
                var part = pid == self ? "bench"
                    : program.StartsWith("postgres", StringComparison.Ordinal) || comm == "postgres" ? "postgres"
                    : comm.StartsWith("redis", StringComparison.Ordinal) ? "redis"
                    : program == "AspireBatch.Worker" ? $"worker {pid}"
                    : program == "AspireBatch.Api" ? "api"
                    : program == "AspireBatch.Simulator" ? "simulator"
                    : "other";
                found[pid] = (part, ticks);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
            }
        }
        return found;
    }
}

/// <summary>
/// The import's baseline: psql's <c>\copy</c> of the same JSONL file into a table shaped like items (LIKE items
/// INCLUDING ALL: the same columns, defaults, identity and every index, partial and unique ones included), through a
/// temporary staging table, in one transaction, as the ENVIRONMENT notes measured it.
/// </summary>
internal static class PsqlCopy
{
    public const string Psql = "/usr/lib/postgresql/15/bin/psql";

    public static async Task<TimeSpan> RunAsync(string database, string file, CancellationToken cancellationToken = default)
    {
        var connection = new NpgsqlConnectionStringBuilder(database);
        var script = Path.Combine(Path.GetTempPath(), $"aspirebatch-copy-{Guid.NewGuid():N}.sql");
        await File.WriteAllTextAsync(script, $"""
            \set ON_ERROR_STOP on
            BEGIN;
            CREATE TEMP TABLE copy_lines (line text) ON COMMIT DROP;
            \copy copy_lines FROM '{file}'
            INSERT INTO bench_copy_items (job_id, line_number, custom_id, state, payload, estimated_input_tokens, attempts, created_at)
            SELECT '{Guid.NewGuid()}', row_number() OVER (), l.line::jsonb ->> 'id', 0, l.line::jsonb, 0, 0, now() FROM copy_lines l;
            COMMIT;
            """, cancellationToken);
        try
        {
            var start = new ProcessStartInfo(Psql, ["-X", "-q", "-f", script])
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
            };
            start.Environment["PGHOST"] = connection.Host;
            start.Environment["PGPORT"] = connection.Port.ToString(CultureInfo.InvariantCulture);
            start.Environment["PGUSER"] = connection.Username;
            start.Environment["PGPASSWORD"] = connection.Password ?? "";
            start.Environment["PGDATABASE"] = connection.Database;
            var watch = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            var errors = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            watch.Stop();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"psql exited {process.ExitCode}: {await errors}");
            }
            return watch.Elapsed;
        }
        finally
        {
            File.Delete(script);
        }
    }

    public static async Task CreateTableAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("DROP TABLE IF EXISTS bench_copy_items; CREATE TABLE bench_copy_items (LIKE items INCLUDING ALL)", connection);
        await command.ExecuteNonQueryAsync();
    }

    public static async Task TruncateAsync(string database, bool drop = false)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(drop ? "DROP TABLE IF EXISTS bench_copy_items" : "TRUNCATE bench_copy_items", connection);
        await command.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// Runs n of the worker processes and freezes the others (SIGSTOP, SIGCONT to thaw), only between jobs: a frozen
/// worker claims nothing and holds no lease, and one thawed keeps its warm JIT and pools, so a count of workers
/// measures workers at work rather than processes starting.
/// </summary>
internal static class WorkerFreezer
{
    public static async Task<int> SetAsync(string database, int n)
    {
        var workers = ServiceProcess.Find(database).Where(p => p.Name.StartsWith("worker", StringComparison.Ordinal)).OrderBy(p => p.Pid).ToList();
        if (workers.Count < n)
        {
            throw new InvalidOperationException($"{n} workers asked for, {workers.Count} worker processes found");
        }
        for (var i = 0; i < workers.Count; i++)
        {
            await SignalAsync(workers[i].Pid, i < n ? "-CONT" : "-STOP");
        }
        // A thawed worker catches up on its timers and polls.
        await Task.Delay(3000);
        return workers.Count;
    }

    private static async Task SignalAsync(int pid, string signal)
    {
        using var kill = Process.Start("kill", [signal, pid.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
    }
}
