using System.ComponentModel.DataAnnotations;
using System.Text.Json.Serialization;

namespace AspireBatch.Simulator;

/// <summary>How a drawn 429 says when to come back: the forms OpenAI-compatible providers use.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RetryAfterFormat>))]
public enum RetryAfterFormat
{
    /// <summary><c>Retry-After: N</c>, whole seconds rounded up.</summary>
    Seconds,
    /// <summary><c>Retry-After: &lt;HTTP date&gt;</c>, rounded up to the next whole second.</summary>
    HttpDate,
    /// <summary><c>retry-after-ms: N</c> alone (OpenAI's own header).</summary>
    Milliseconds,
}

/// <summary>
/// Settings of the simulator, section <c>Simulator</c>. The values below mirror appsettings.json so that the
/// simulator behaves the same when it is hosted in-process by tests whose content root has no appsettings.json.
/// At run time the admin API replaces the current instance with a changed copy (see <see cref="Services.SimulatorRuntime"/>):
/// a published instance is never mutated.
/// </summary>
public sealed record SimulatorOptions
{
    public const string SectionName = "Simulator";

    public static readonly IReadOnlyList<string> DefaultModels = ["deepseek-chat", "gpt-4.1", "claude-sonnet-4-5", "gemini-2.5-flash", "text-embedding-3-small"];

    /// <summary>The bearer key every /v1 request must carry. Set at start only; never returned by the admin API.</summary>
    [Required, MinLength(1)]
    [JsonIgnore]
    public string ApiKey { get; set; } = "sim-dev-key";

    /// <summary>
    /// Model names served. Left empty here and filled with <see cref="DefaultModels"/> by a post-configure step when
    /// configuration names none: the configuration binder appends to an array default instead of replacing it.
    /// </summary>
    [MinLength(1)]
    public string[] Models { get; set; } = [];

    /// <summary>Mean added latency of a chat completion.</summary>
    [Range(0, 600_000)]
    public int LatencyMs { get; set; } = 20;

    /// <summary>Uniform jitter, +/- this many milliseconds around <see cref="LatencyMs"/> (never below zero).</summary>
    [Range(0, 600_000)]
    public int LatencyJitterMs { get; set; } = 10;

    /// <summary>Accepted chat completions per sliding 60 s window; 0 = unlimited.</summary>
    [Range(0, int.MaxValue)]
    public int RequestsPerMinute { get; set; }

    /// <summary>Accepted tokens (prompt + completion) per sliding 60 s window; 0 = unlimited.</summary>
    [Range(0, int.MaxValue)]
    public int TokensPerMinute { get; set; }

    [Range(0.0, 1.0)]
    public double Error500Rate { get; set; }

    [Range(0.0, 1.0)]
    public double Error503Rate { get; set; }

    [Range(0.0, 1.0)]
    public double TimeoutRate { get; set; }

    /// <summary>How long a timeout fault hangs before answering 504 (unless the client gives up first).</summary>
    [Range(0, int.MaxValue)]
    public int TimeoutHangMs { get; set; } = 60_000;

    [Range(0.0, 1.0)]
    public double ResetRate { get; set; }

    [Range(0.0, 1.0)]
    public double MalformedJsonRate { get; set; }

    /// <summary>
    /// 429s drawn like the other faults, as from a provider whose shared capacity is busy: unlike the RPM/TPM limits
    /// they come at any rate and ask for exactly <see cref="RetryAfterMs"/>, in the header form <see cref="RetryAfterFormat"/>.
    /// </summary>
    [Range(0.0, 1.0)]
    public double Error429Rate { get; set; }

    [Range(0, 600_000)]
    public int RetryAfterMs { get; set; } = 1000;

    public RetryAfterFormat RetryAfterFormat { get; set; } = RetryAfterFormat.Seconds;

    /// <summary>
    /// Replays of recorded provider response shapes (<c>Corpus/*.json</c>) drawn like the other faults: a draw answers with
    /// a random entry of <see cref="CorpusShapes"/>, picked by the same seeded sequence.
    /// </summary>
    [Range(0.0, 1.0)]
    public double CorpusRate { get; set; }

    /// <summary>Names of the corpus entries <see cref="CorpusRate"/> draws from; empty = every entry.</summary>
    public string[] CorpusShapes { get; set; } = [];

    /// <summary>
    /// When set, the simulator answers like a classifier: one of these labels, picked from the transcript's hash, so
    /// every instance gives every prompt the same label. Empty = the usual <c>sim:</c> answer.
    /// </summary>
    public string[] Labels { get; set; } = [];

    /// <summary>
    /// Share of prompts (chosen by the transcript's hash with <see cref="AnswerSalt"/>, not by the fault draws) this
    /// instance answers differently from the others: the next label, or the usual answer marked <c>(alt)</c>. Lets a
    /// rehearsal compare two providers whose answers agree on less than 100 % of the records.
    /// </summary>
    [Range(0.0, 1.0)]
    public double DisagreeRate { get; set; }

    /// <summary>Tells instances apart in the choice of the prompts they answer differently.</summary>
    public string AnswerSalt { get; set; } = "";

    /// <summary>
    /// Share of <c>json_schema</c> requests answered with a document that breaks the schema (a required property missing,
    /// a wrong type, or JSON cut short), drawn from the seeded fault sequence. A re-ask (a request whose history holds an
    /// assistant message) is answered right unless <see cref="SchemaViolationOnReask"/>.
    /// </summary>
    [Range(0.0, 1.0)]
    public double SchemaViolationRate { get; set; }

    /// <summary>Re-asks draw violations too: a client's re-asks never help, to test what happens when they run out.</summary>
    public bool SchemaViolationOnReask { get; set; }

    /// <summary>
    /// Native batches (<c>/v1/batches</c>): how long an accepted batch spends <c>in_progress</c>, its lines answered evenly
    /// over that time, before it finalizes and completes. A batch keeps the batch settings in force when it was created.
    /// </summary>
    [Range(0, int.MaxValue)]
    public int BatchTurnaroundMs { get; set; } = 3000;

    /// <summary>Share of batch lines answered with a 500 in the error file instead of an answer, drawn from the seeded fault sequence.</summary>
    [Range(0.0, 1.0)]
    public double BatchLineFailureRate { get; set; }

    /// <summary>
    /// Time from a batch's creation to its <c>expires_at</c> (OpenAI's 24 h completion window by default). A batch still in
    /// progress then ends <c>expired</c>, its unanswered lines in the error file with code <c>batch_expired</c>.
    /// </summary>
    [Range(1, int.MaxValue)]
    public int BatchExpireAfterMs { get; set; } = 86_400_000;

    /// <summary>Largest file <c>POST /v1/files</c> accepts (OpenAI's limit for batch input files, 200 MB).</summary>
    [Range(1, int.MaxValue)]
    public int FileMaxBytes { get; set; } = 200 * 1024 * 1024;

    /// <summary>
    /// Bytes of files (uploads and batch outputs) kept in memory at most: an upload that would pass it is refused, so a long
    /// run cannot eat the machine; deleting files frees room. Batch output files are always stored.
    /// </summary>
    [Range(typeof(long), "1", "9223372036854775807")]
    public long FileStoreMaxBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Seed of the fault draws; 0 = a random seed.</summary>
    public int Seed { get; set; }

    /// <summary>The size of the vectors /v1/embeddings answers when the request names no <c>dimensions</c>.</summary>
    [Range(1, 16_384)]
    public int EmbeddingDimensions { get; set; } = 256;
}
