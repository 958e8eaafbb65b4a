using System.Text.RegularExpressions;
using AspireBatch.Contracts;
using AspireBatch.Data;
using AspireBatch.Data.Entities;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Services.Access;

/// <summary>Teams' keys: created (the secret returned once), listed with their month's spend, revoked.</summary>
public sealed partial class ApiKeyStore(BatchDbContext db, TimeProvider time)
{
    public static IReadOnlyList<string> Errors(CreateApiKeyRequest request)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > 200)
        {
            errors.Add("name is required (at most 200 characters)");
        }
        if (!IsTeamName(request.Team))
        {
            errors.Add(TeamNameRule);
        }
        if (request.Scopes is not { Count: > 0 } || request.Scopes.Any(s => !ApiScopes.All.Contains(s)))
        {
            errors.Add($"scopes must be one or more of {string.Join(", ", ApiScopes.All)}");
        }
        if (request.RequestsPerMinute is < 1)
        {
            errors.Add("requestsPerMinute must be at least 1");
        }
        if (request.MonthlyBudgetUsd is <= 0)
        {
            errors.Add("monthlyBudgetUsd must be positive");
        }
        return errors;
    }

    public async Task<CreatedApiKey> CreateAsync(CreateApiKeyRequest request, CancellationToken cancellationToken)
    {
        var secret = ApiKeySecrets.New();
        var key = new ApiKey
        {
            Id = Guid.CreateVersion7(), Name = request.Name.Trim(), Team = request.Team, Scopes = [.. request.Scopes.Distinct()],
            Hash = ApiKeySecrets.Hash(secret), Prefix = ApiKeySecrets.Prefix(secret), RequestsPerMinute = request.RequestsPerMinute,
            MonthlyBudgetUsd = request.MonthlyBudgetUsd, CreatedAt = time.GetUtcNow(),
        };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        return new CreatedApiKey(ToDto(key, 0), secret);
    }

    public async Task<IReadOnlyList<ApiKeyDto>> ListAsync(CancellationToken cancellationToken)
    {
        var keys = await db.ApiKeys.AsNoTracking().OrderByDescending(k => k.CreatedAt).ToListAsync(cancellationToken);
        var monthStart = MonthStart(time.GetUtcNow());
        var spent = await db.Jobs.AsNoTracking().Where(j => j.ApiKeyId != null && j.CreatedAt >= monthStart)
            .GroupBy(j => j.ApiKeyId!.Value).Select(g => new { Key = g.Key, Cost = g.Sum(j => j.CostUsd) })
            .ToDictionaryAsync(s => s.Key, s => s.Cost, cancellationToken);
        return [.. keys.Select(k => ToDto(k, spent.GetValueOrDefault(k.Id)))];
    }

    /// <summary>False when no key has that id; revoking a revoked key changes nothing.</summary>
    public async Task<bool> RevokeAsync(Guid id, CancellationToken cancellationToken)
    {
        var key = await db.ApiKeys.FirstOrDefaultAsync(k => k.Id == id, cancellationToken);
        if (key is null)
        {
            return false;
        }
        key.RevokedAt ??= time.GetUtcNow();
        await db.SaveChangesAsync(cancellationToken);
        return true;
    }

    /// <summary>Whether the key's jobs of this calendar month (UTC) have cost its monthly budget: then it makes no new job.</summary>
    public async Task<(decimal Budget, decimal Spent)?> BudgetReachedAsync(Guid? keyId, CancellationToken cancellationToken)
    {
        if (keyId is not { } id || await db.ApiKeys.AsNoTracking().Where(k => k.Id == id).Select(k => k.MonthlyBudgetUsd).FirstOrDefaultAsync(cancellationToken) is not { } budget)
        {
            return null;
        }
        var monthStart = MonthStart(time.GetUtcNow());
        var spent = await db.Jobs.AsNoTracking().Where(j => j.ApiKeyId == id && j.CreatedAt >= monthStart).SumAsync(j => j.CostUsd, cancellationToken);
        return spent >= budget ? (budget, spent) : null;
    }

    public static DateTimeOffset MonthStart(DateTimeOffset now) => new(now.UtcDateTime.Year, now.UtcDateTime.Month, 1, 0, 0, 0, TimeSpan.Zero);

    private static ApiKeyDto ToDto(ApiKey k, decimal spent) =>
        new(k.Id, k.Name, k.Team, k.Scopes, k.Prefix, k.RequestsPerMinute, k.MonthlyBudgetUsd, spent, k.CreatedAt, k.LastUsedAt, k.RevokedAt);

    public const string TeamNameRule = "team must be 1-100 lower-case letters, digits, '-' or '_'";

    /// <summary>What a team may be called: a key's team, and the team a retention policy names.</summary>
    public static bool IsTeamName(string? team) => team is not null && TeamName().IsMatch(team);

    [GeneratedRegex("^[a-z0-9_-]{1,100}$")]
    private static partial Regex TeamName();
}
