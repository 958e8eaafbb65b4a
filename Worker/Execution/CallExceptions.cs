using AspireBatch.Data.Lifecycle;

namespace AspireBatch.Worker.Execution;

// How a call for an item ends when it ends without an outcome of the provider's: ModelCaller throws these, the
// ExecutionEngine turns each into the item's next state.

/// <summary>The job was paused or cancelled while an item waited to retry: the item goes back unpaid, with the attempts it made.</summary>
public sealed class JobHaltedException(IReadOnlyList<AttemptRecord>? attempts = null) : Exception("the job is no longer running")
{
    public IReadOnlyList<AttemptRecord> Attempts { get; } = attempts ?? [];
}

/// <summary>Every target of the item has its circuit open: the item goes back to the queue, with the calls it made.</summary>
public sealed class CircuitOpenException(string target, IReadOnlyList<AttemptRecord>? attempts = null) : Exception($"the circuit of {target} is open")
{
    public IReadOnlyList<AttemptRecord> Attempts { get; } = attempts ?? [];
}

/// <summary>The provider could not be reached and its circuit opened meanwhile: no more tries on it for this item.</summary>
internal sealed class ProviderAwayException() : Exception("the provider cannot be reached and its circuit is open");

/// <summary>Our own side failed around a call (Redis, Postgres): never the provider's fault, never retried as one.</summary>
public sealed class OwnFaultException(Exception inner) : Exception(inner.Message, inner);
