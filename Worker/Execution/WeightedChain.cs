namespace AspireBatch.Worker.Execution;

/// <summary>A route target as the chain composer sees it: where it is on the route and its share.</summary>
public readonly record struct ChainCandidate<T>(int Position, int Weight, T Target);

/// <summary>
/// The order in which a record tries a route's targets (canary by weight). Without weights at or after the active
/// target it is today's chain: the active target, then the ones after it. With weights, the first target is drawn by
/// weight among the weighted ones from the record's id, and the rest follow in position order as fallbacks.
/// </summary>
public static class WeightedChain
{
    /// <param name="candidates">The route's targets that can be called now, in position order.</param>
    public static List<T> Compose<T>(IReadOnlyList<ChainCandidate<T>> candidates, int activePosition, long itemId)
    {
        var usable = candidates.Where(c => c.Position >= activePosition).OrderBy(c => c.Position).ToList();
        var total = usable.Sum(c => (long)Math.Max(0, c.Weight));
        if (total == 0)
        {
            return usable.Select(c => c.Target).ToList();
        }
        var first = Draw(usable.Select(c => Math.Max(0, c.Weight)).ToList(), itemId);
        return [usable[first].Target, .. usable.Where((_, i) => i != first).Select(c => c.Target)];
    }

    /// <summary>
    /// The index drawn for a record: the same id always draws the same target (a retried or reclaimed record stays on
    /// its canary), and ids spread evenly over the weights. Weights must not all be 0.
    /// </summary>
    public static int Draw(IReadOnlyList<int> weights, long itemId)
    {
        var total = weights.Sum(w => (long)w);
        var ticket = (long)(Mix((ulong)itemId) % (ulong)total);
        for (var i = 0; i < weights.Count; i++)
        {
            ticket -= weights[i];
            if (ticket < 0)
            {
                return i;
            }
        }
        throw new ArgumentException("the weights add up to 0", nameof(weights));
    }

    /// <summary>SplitMix64's finalizer: item ids come from a sequence, so consecutive ids must land far apart.</summary>
    internal static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
        return x ^ (x >> 31);
    }
}
