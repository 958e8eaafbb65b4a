using System.ComponentModel.DataAnnotations;

namespace AspireBatch.Dashboard.Infrastructure;

/// <summary>How the Dashboard reaches the Api: the service-discovery address. Each call carries the signed-in operator's own token.</summary>
public sealed class ApiOptions
{
    [Required]
    public Uri BaseAddress { get; set; } = new("http://api");
}

public sealed class DashboardOptions
{
    /// <summary>Where the Aspire dashboard's trace view lives; items link to {this}/traces/detail/{traceId}.</summary>
    [Required]
    public string AspireDashboardUrl { get; set; } = "http://localhost:18888";

    /// <summary>Largest file an operator may upload; the file is buffered to a temporary file once, then previewed and submitted from there.</summary>
    [Range(1, long.MaxValue)]
    public long MaxUploadBytes { get; set; } = 1L << 30;
}
