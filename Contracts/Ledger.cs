namespace AspireBatch.Contracts;

/// <summary>Where an item's or an attempt's token counts came from.</summary>
public static class UsageSources
{
    /// <summary>The provider's own usage object.</summary>
    public const string Reported = "reported";

    /// <summary>The provider sent no usage: counted with the o200k tokenizer from the rendered request and the answer.</summary>
    public const string Estimated = "estimated";

    /// <summary>The record had the same request as an earlier record of its job and took that record's answer: no call, no cost.</summary>
    public const string Deduplicated = "deduplicated";

    /// <summary>An earlier job (with the response cache on) had answered the same request: the answer was reused, no call, no cost.</summary>
    public const string Cached = "cached";
}

/// <summary>Error codes the ledger writes itself (the rest come from the provider's answer: http_502, refusal, ...).</summary>
public static class LedgerCodes
{
    /// <summary>The worker was lost while the call was in flight: the provider may have answered and charged it.</summary>
    public const string Unknown = "unknown";

    /// <summary>Our own side failed (Redis, Postgres, a bug): the item went back to the queue, the record is not failed.</summary>
    public const string Internal = "internal";

    /// <summary>The item met our own failures so often that it stops, so that a bug cannot loop for ever.</summary>
    public const string InternalErrorLimit = "internal_error_limit";

    /// <summary>
    /// The answer broke the job's JSON schema: on the attempt whose answer failed the check, and on a record whose
    /// answers never passed it (which keeps its last answer and the errors).
    /// </summary>
    public const string SchemaInvalid = "schema_invalid";
}
