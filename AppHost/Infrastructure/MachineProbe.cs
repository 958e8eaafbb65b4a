using System.Diagnostics;
using Microsoft.Extensions.Configuration;

namespace AspireBatch.AppHost.Infrastructure;

/// <summary>Looks at this machine: container runtimes, PostgreSQL server binaries, redis-server.</summary>
public static class MachineProbe
{
    public static MachineFacts Gather(IConfiguration configuration, InfrastructureMode requested)
    {
        var external = !string.IsNullOrWhiteSpace(configuration.GetConnectionString("batchdb"))
            && !string.IsNullOrWhiteSpace(configuration.GetConnectionString("redis"));
        // Only ask container runtimes when the answer matters: `docker info` can hang on a broken engine.
        var askContainers = requested is InfrastructureMode.Containers
            || (requested is InfrastructureMode.Auto && !external);
        return new MachineFacts(
            external,
            askContainers && (Answers("docker", "info") || Answers("podman", "info")),
            FindPostgresBin(configuration["Infrastructure:PostgresBinDirectory"]),
            FindOnPath("redis-server"),
            CanInstallWithApt());
    }

    public static string? FindPostgresBin(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(Path.Combine(configured, "postgres")) ? configured : null;
        }
        const string root = "/usr/lib/postgresql";
        if (!Directory.Exists(root))
        {
            return null;
        }
        return Directory.GetDirectories(root)
            .Select(d => (Dir: Path.Combine(d, "bin"), Version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
            .Where(d => File.Exists(Path.Combine(d.Dir, "postgres")) && File.Exists(Path.Combine(d.Dir, "initdb")))
            .OrderByDescending(d => d.Version)
            .Select(d => d.Dir)
            .FirstOrDefault();
    }

    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append("/usr/bin").Append("/usr/sbin")
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    private static bool CanInstallWithApt() =>
        Environment.UserName == "root" && FindOnPath("apt-get") is not null;

    private static bool Answers(string program, string arguments)
    {
        if (FindOnPath(program) is null)
        {
            return false;
        }
        try
        {
            using var process = Process.Start(new ProcessStartInfo(program, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            });
            if (process is null)
            {
                return false;
            }
            if (!process.WaitForExit(TimeSpan.FromSeconds(5)))
            {
                process.Kill(entireProcessTree: true);
                return false;
            }
            return process.ExitCode == 0;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Installs redis-server with apt-get (root on Debian), printing what it does.</summary>
    public static void InstallRedis()
    {
        Console.WriteLine("redis-server is missing: installing it with `apt-get install -y redis-server` (Infrastructure:AutoInstall=false turns this off)...");
        foreach (var args in new[] { "update -q", "install -y -q redis-server" })
        {
            using var process = Process.Start(new ProcessStartInfo("apt-get", args)
            {
                Environment = { ["DEBIAN_FRONTEND"] = "noninteractive" },
            }) ?? throw new InfrastructureUnavailableException("Could not start apt-get.");
            process.WaitForExit();
            if (process.ExitCode != 0 && args.StartsWith("install", StringComparison.Ordinal))
            {
                throw new InfrastructureUnavailableException(
                    "apt-get could not install redis-server. Install it yourself: apt-get install -y redis-server");
            }
        }
    }
}
