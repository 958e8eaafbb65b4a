namespace AspireBatch.Contracts;

/// <summary>
/// The fields of the multipart form that previews or creates a job, besides the file: the Api binds them, the
/// Dashboard sends them.
/// </summary>
public class JobFormFields
{
    /// <summary>jsonl, csv or openai-batch; taken from the file name when absent.</summary>
    public string? Format { get; set; }
    /// <summary>A model, an alias or a route. For OpenAI Batch files it may be left out: the lines' model is used.</summary>
    public string? Model { get; set; }
    public string? Name { get; set; }
    public string? SystemTemplate { get; set; }
    public string? UserTemplate { get; set; }
    public string? IdField { get; set; }
    public double? Temperature { get; set; }
    public int? MaxTokens { get; set; }
    /// <summary>OpenAI response_format as JSON, e.g. {"type":"json_object"}.</summary>
    public string? ResponseFormat { get; set; }
    /// <summary>Free JSON object kept with the job.</summary>
    public string? Metadata { get; set; }
    public decimal? BudgetUsd { get; set; }
    public bool StartPaused { get; set; }
    /// <summary>
    /// Send identical requests once and give the answer to every such record: true or false forces it; absent means on
    /// when the temperature is 0 (for OpenAI Batch files: for the lines whose body sets temperature 0).
    /// </summary>
    public bool? Dedup { get; set; }
    /// <summary>/v1/chat/completions (default) or /v1/embeddings. For OpenAI Batch files the lines' url decides.</summary>
    public string? Endpoint { get; set; }
    /// <summary>Embeddings only: the vector size to ask for (OpenAI's <c>dimensions</c>); the model's own when absent.</summary>
    public int? Dimensions { get; set; }
    /// <summary>
    /// Opt in to the response cache: answers of earlier jobs with the same request (same model as named, parameters and
    /// messages or input) are reused for this many seconds after they were written, and this job's answers are kept for
    /// as long. Absent: off.
    /// </summary>
    public int? ResponseCacheTtlSeconds { get; set; }
    /// <summary>
    /// realtime (default), provider-batch (the provider's own /v1/batches at its batch price) or auto (provider batches
    /// while <see cref="Deadline"/> leaves room, the rest in real time before it).
    /// </summary>
    public string? Mode { get; set; }
    /// <summary>Auto mode only (required there): when every record must be answered, ISO 8601 with an offset.</summary>
    public DateTimeOffset? Deadline { get; set; }
}
