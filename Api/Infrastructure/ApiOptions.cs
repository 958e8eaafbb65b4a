using System.ComponentModel.DataAnnotations;

namespace AspireBatch.Api.Infrastructure;

public sealed class ApiOptions
{
    /// <summary>The bearer key every call needs (AppHost parameter api-key).</summary>
    [Required, MinLength(8)]
    public string Key { get; set; } = "";

    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 1L << 30;

    [Range(1024, int.MaxValue)]
    public int MaxLineBytes { get; set; } = 1 << 20;

    [Range(1, 1000)]
    public int MaxReportedErrors { get; set; } = 20;

    /// <summary>
    /// Sign-ins a minute per client address as the Api sees it: the Dashboard's (or a proxy's), so in practice for all
    /// sign-ins together, beside each account's lockout.
    /// </summary>
    [Range(1, 100_000)]
    public int SignInsPerMinute { get; set; } = 30;
}
