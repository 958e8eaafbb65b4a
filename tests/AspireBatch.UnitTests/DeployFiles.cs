using System.Diagnostics;
using YamlDotNet.RepresentationModel;

namespace AspireBatch.UnitTests;

/// <summary>What ContainerImageTests and DeployManifestTests share: the repository root, running a tool, reading YAML.</summary>
internal static class DeployFiles
{
    public static readonly string RepoRoot = FindRepoRoot();

    public static string PathOf(string relative) => Path.Combine(RepoRoot, relative);

    /// <summary>Runs a tool to completion (bounded by a minute) and returns its exit code, standard output and error.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(string fileName, IEnumerable<string> arguments, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        // The test host may run under dotnet test's MSBuild: a child msbuild must not inherit its node settings.
        foreach (var name in start.Environment.Keys.Where(k => k.StartsWith("MSBuild", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            start.Environment.Remove(name);
        }
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "false";
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var error = process.StandardError.ReadToEndAsync(timeout.Token);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        return (process.ExitCode, await output, await error);
    }

    /// <summary>The full path of a program on PATH, or null.</summary>
    public static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, program))
            .FirstOrDefault(File.Exists);

    /// <summary>
    /// Every document of a YAML stream as plain values: mappings as dictionaries (with YAML merge keys, &lt;&lt;,
    /// merged in as compose uses them), sequences as lists, scalars as strings. Throws on malformed YAML.
    /// </summary>
    public static List<Dictionary<string, object?>> ReadYaml(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return stream.Documents
            .Where(d => d.RootNode is YamlMappingNode)
            .Select(d => (Dictionary<string, object?>)Convert(d.RootNode)!)
            .ToList();
    }

    private static object? Convert(YamlNode node) => node switch
    {
        YamlScalarNode scalar => scalar.Value,
        YamlSequenceNode sequence => sequence.Children.Select(Convert).ToList(),
        YamlMappingNode mapping => ConvertMapping(mapping),
        _ => throw new InvalidDataException($"Unexpected YAML node {node.NodeType} at {node.Start}"),
    };

    private static Dictionary<string, object?> ConvertMapping(YamlMappingNode mapping)
    {
        var result = new Dictionary<string, object?>();
        var merged = new List<Dictionary<string, object?>>();
        foreach (var (key, value) in mapping.Children)
        {
            var name = ((YamlScalarNode)key).Value ?? "";
            if (name == "<<")
            {
                merged.Add((Dictionary<string, object?>)Convert(value)!);
                continue;
            }
            if (!result.TryAdd(name, Convert(value)))
            {
                throw new InvalidDataException($"Duplicate key {name} at {key.Start}");
            }
        }
        foreach (var (name, value) in merged.SelectMany(m => m))
        {
            result.TryAdd(name, value);
        }
        return result;
    }

    /// <summary>A value by a path of keys and list indexes ("spec", "template", 0, ...); null when any step is missing.</summary>
    public static object? At(this object? value, params object[] path)
    {
        foreach (var step in path)
        {
            value = (value, step) switch
            {
                (Dictionary<string, object?> map, string key) => map.GetValueOrDefault(key),
                (List<object?> list, int index) => index < list.Count ? list[index] : null,
                _ => null,
            };
            if (value is null)
            {
                return null;
            }
        }
        return value;
    }

    public static string? Text(this object? value, params object[] path) => value.At(path) as string;

    public static IEnumerable<Dictionary<string, object?>> Maps(this object? value, params object[] path) =>
        value.At(path) is List<object?> list ? list.OfType<Dictionary<string, object?>>() : [];

    private static string FindRepoRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AspireBatch.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException($"No AspireBatch.sln above {AppContext.BaseDirectory}");
    }
}
