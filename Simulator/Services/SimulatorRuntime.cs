using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using AspireBatch.Simulator.Contracts;
using Microsoft.Extensions.Options;

namespace AspireBatch.Simulator.Services;

public enum FaultKind
{
    None,
    Error500,
    Error503,
    Timeout,
    Reset,
    MalformedJson,
    Error429,
    Corpus,
}

/// <summary>
/// The settings in force and the seeded fault draws. Readers take <see cref="Current"/> once per request (a lock-free read
/// of an immutable snapshot); the admin API swaps in a validated copy under a lock.
/// </summary>
public sealed class SimulatorRuntime
{
    private readonly Lock _gate = new();
    private readonly ResponseCorpus _corpus;
    private SimulatorOptions _current;
    private Random _faultRandom;

    public SimulatorRuntime(IOptions<SimulatorOptions> options, ResponseCorpus corpus)
    {
        _corpus = corpus;
        _current = options.Value with { };
        _faultRandom = NewRandom(_current.Seed);
    }

    public SimulatorOptions Current => Volatile.Read(ref _current);

    /// <summary>Applies the fields present in <paramref name="patch"/> when the result is valid; otherwise returns the errors.</summary>
    public IDictionary<string, string[]>? TryUpdate(SimulatorConfigPatch patch, out SimulatorOptions result)
    {
        lock (_gate)
        {
            var current = _current;
            var next = current with
            {
                Models = patch.Models is null ? current.Models : [.. patch.Models],
                LatencyMs = patch.LatencyMs ?? current.LatencyMs,
                LatencyJitterMs = patch.LatencyJitterMs ?? current.LatencyJitterMs,
                RequestsPerMinute = patch.RequestsPerMinute ?? current.RequestsPerMinute,
                TokensPerMinute = patch.TokensPerMinute ?? current.TokensPerMinute,
                Error500Rate = patch.Error500Rate ?? current.Error500Rate,
                Error503Rate = patch.Error503Rate ?? current.Error503Rate,
                TimeoutRate = patch.TimeoutRate ?? current.TimeoutRate,
                TimeoutHangMs = patch.TimeoutHangMs ?? current.TimeoutHangMs,
                ResetRate = patch.ResetRate ?? current.ResetRate,
                MalformedJsonRate = patch.MalformedJsonRate ?? current.MalformedJsonRate,
                Error429Rate = patch.Error429Rate ?? current.Error429Rate,
                RetryAfterMs = patch.RetryAfterMs ?? current.RetryAfterMs,
                RetryAfterFormat = patch.RetryAfterFormat ?? current.RetryAfterFormat,
                CorpusRate = patch.CorpusRate ?? current.CorpusRate,
                CorpusShapes = patch.CorpusShapes is null ? current.CorpusShapes : [.. patch.CorpusShapes],
                Seed = patch.Seed ?? current.Seed,
                Labels = patch.Labels is null ? current.Labels : [.. patch.Labels],
                DisagreeRate = patch.DisagreeRate ?? current.DisagreeRate,
                AnswerSalt = patch.AnswerSalt ?? current.AnswerSalt,
                BatchTurnaroundMs = patch.BatchTurnaroundMs ?? current.BatchTurnaroundMs,
                BatchLineFailureRate = patch.BatchLineFailureRate ?? current.BatchLineFailureRate,
                BatchExpireAfterMs = patch.BatchExpireAfterMs ?? current.BatchExpireAfterMs,
                FileMaxBytes = patch.FileMaxBytes ?? current.FileMaxBytes,
                FileStoreMaxBytes = patch.FileStoreMaxBytes ?? current.FileStoreMaxBytes,
                SchemaViolationRate = patch.SchemaViolationRate ?? current.SchemaViolationRate,
                SchemaViolationOnReask = patch.SchemaViolationOnReask ?? current.SchemaViolationOnReask,
                EmbeddingDimensions = patch.EmbeddingDimensions ?? current.EmbeddingDimensions,
            };

            var errors = Validate(next, _corpus);
            if (errors is not null)
            {
                result = current;
                return errors;
            }

            if (patch.Seed is not null)
            {
                _faultRandom = NewRandom(next.Seed);
            }

            Volatile.Write(ref _current, next);
            result = next;
            return null;
        }
    }

    /// <summary>Restarts the fault sequence from the configured seed (a new random one when Seed is 0).</summary>
    public void ResetFaultSequence()
    {
        lock (_gate)
        {
            _faultRandom = NewRandom(_current.Seed);
        }
    }

    /// <summary>
    /// One uniform draw per request, compared against the cumulative rates in the order Error500, Error503, Timeout,
    /// Reset, MalformedJson, Error429, Corpus; so each kind occurs at its configured rate while the rates add up to at most 1 (past 1
    /// the later kinds get what is left). No draw is taken while every rate is 0.
    /// </summary>
    public FaultKind DrawFault(SimulatorOptions options)
    {
        if (options.Error500Rate + options.Error503Rate + options.TimeoutRate + options.ResetRate + options.MalformedJsonRate + options.Error429Rate
            + options.CorpusRate <= 0)
        {
            return FaultKind.None;
        }

        double draw;
        lock (_gate)
        {
            draw = _faultRandom.NextDouble();
        }

        var threshold = options.Error500Rate;
        if (draw < threshold)
        {
            return FaultKind.Error500;
        }

        if (draw < (threshold += options.Error503Rate))
        {
            return FaultKind.Error503;
        }

        if (draw < (threshold += options.TimeoutRate))
        {
            return FaultKind.Timeout;
        }

        if (draw < (threshold += options.ResetRate))
        {
            return FaultKind.Reset;
        }

        if (draw < (threshold += options.MalformedJsonRate))
        {
            return FaultKind.MalformedJson;
        }

        if (draw < (threshold += options.Error429Rate))
        {
            return FaultKind.Error429;
        }

        return draw < threshold + options.CorpusRate ? FaultKind.Corpus : FaultKind.None;
    }

    /// <summary>Whether a json_schema answer breaks its schema: one draw from the fault sequence, none while the rate is 0.</summary>
    public bool DrawSchemaViolation(SimulatorOptions options)
    {
        if (options.SchemaViolationRate <= 0)
        {
            return false;
        }

        lock (_gate)
        {
            return _faultRandom.NextDouble() < options.SchemaViolationRate;
        }
    }

    /// <summary>Whether a batch line fails with a 500: one draw from the fault sequence, none while the rate is 0.</summary>
    public bool DrawBatchLineFailure(double rate)
    {
        if (rate <= 0)
        {
            return false;
        }

        lock (_gate)
        {
            return _faultRandom.NextDouble() < rate;
        }
    }

    /// <summary>The entry a Corpus fault replays: uniform over <see cref="SimulatorOptions.CorpusShapes"/> (every entry when empty), from the seeded sequence.</summary>
    public CorpusEntry DrawCorpusEntry(SimulatorOptions options)
    {
        var shapes = options.CorpusShapes;
        int index;
        lock (_gate)
        {
            index = _faultRandom.Next(shapes.Length == 0 ? _corpus.Entries.Count : shapes.Length);
        }

        if (shapes.Length == 0)
        {
            return _corpus.Entries[index];
        }

        // Names were checked when the settings were accepted.
        _corpus.TryGet(shapes[index], out var entry);
        return entry;
    }

    private static Dictionary<string, string[]>? Validate(SimulatorOptions options, ResponseCorpus corpus)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        if (UnknownShapes(options, corpus) is { } unknown)
        {
            results.Add(new ValidationResult(unknown, [nameof(SimulatorOptions.CorpusShapes)]));
        }

        if (options.Models.Any(string.IsNullOrWhiteSpace))
        {
            results.Add(new ValidationResult("Model names must not be empty.", [nameof(SimulatorOptions.Models)]));
        }

        if (results.Count == 0)
        {
            return null;
        }

        return results
            .SelectMany(r => r.MemberNames.DefaultIfEmpty(string.Empty).Select(member => (Member: JsonNamingPolicy.CamelCase.ConvertName(member), r.ErrorMessage)))
            .GroupBy(e => e.Member)
            .ToDictionary(g => g.Key, g => g.Select(e => e.ErrorMessage ?? "Invalid value.").ToArray());
    }

    /// <summary>Null when every name of <see cref="SimulatorOptions.CorpusShapes"/> is a corpus entry; else a message naming the others.</summary>
    public static string? UnknownShapes(SimulatorOptions options, ResponseCorpus corpus)
    {
        var unknown = options.CorpusShapes.Where(name => !corpus.Contains(name)).ToList();
        return unknown.Count == 0
            ? null
            : $"Unknown corpus entries: {string.Join(", ", unknown)}. Known: {string.Join(", ", corpus.Entries.Select(e => e.Name))}.";
    }

    private static Random NewRandom(int seed) => seed == 0 ? new Random() : new Random(seed);
}
