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
}

/// <summary>
/// The settings in force and the seeded fault draws. Readers take <see cref="Current"/> once per request (a lock-free read
/// of an immutable snapshot); the admin API swaps in a validated copy under a lock.
/// </summary>
public sealed class SimulatorRuntime
{
    private readonly Lock _gate = new();
    private SimulatorOptions _current;
    private Random _faultRandom;

    public SimulatorRuntime(IOptions<SimulatorOptions> options)
    {
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
                Seed = patch.Seed ?? current.Seed,
            };

            var errors = Validate(next);
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
    /// Reset, MalformedJson, Error429; so each kind occurs at its configured rate while the rates add up to at most 1 (past 1
    /// the later kinds get what is left). No draw is taken while every rate is 0.
    /// </summary>
    public FaultKind DrawFault(SimulatorOptions options)
    {
        if (options.Error500Rate + options.Error503Rate + options.TimeoutRate + options.ResetRate + options.MalformedJsonRate + options.Error429Rate <= 0)
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

        return draw < threshold + options.Error429Rate ? FaultKind.Error429 : FaultKind.None;
    }

    private static Dictionary<string, string[]>? Validate(SimulatorOptions options)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
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

    private static Random NewRandom(int seed) => seed == 0 ? new Random() : new Random(seed);
}
