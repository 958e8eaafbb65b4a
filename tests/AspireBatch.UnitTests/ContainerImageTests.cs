using System.Text.Json;

namespace AspireBatch.UnitTests;

/// <summary>
/// The five images as the .NET SDK computes them: its own ComputeContainerConfig target (which validates the
/// repository and tags and pulls nothing) on each project, read back with -getProperty/-getItem. CI cannot pull the
/// chiseled base image, so this is how CI checks the images; scripts/build-images.sh builds them where a registry
/// answers. The five msbuild calls run side by side, once per test run.
/// </summary>
public sealed class ContainerImageTests
{
    private const string Chiseled = "mcr.microsoft.com/dotnet/aspnet:10.0-noble-chiseled";

    private sealed record Expected(string Repository, string BaseImage, bool ServesHttp);

    private static readonly Dictionary<string, Expected> Images = new()
    {
        ["Api/AspireBatch.Api.csproj"] = new("aspirebatch/api", Chiseled, true),
        ["Worker/AspireBatch.Worker.csproj"] = new("aspirebatch/worker", Chiseled, true),
        // -extra: ICU and tzdata, for the operator's own time zone.
        ["Dashboard/AspireBatch.Dashboard.csproj"] = new("aspirebatch/dashboard", Chiseled + "-extra", true),
        // The Migrator runs and exits: no port. It needs ASP.NET Core's shared framework (Data Protection) too.
        ["Migrator/AspireBatch.Migrator.csproj"] = new("aspirebatch/migrator", Chiseled, false),
        ["Simulator/AspireBatch.Simulator.csproj"] = new("aspirebatch/simulator", Chiseled, true),
    };

    public static TheoryData<string> Projects => new(Images.Keys);

    private static readonly Lazy<Task<Dictionary<string, JsonElement>>> Evaluated = new(EvaluateAllAsync);

    [Theory]
    [MemberData(nameof(Projects))]
    public async Task Each_image_is_named_based_on_chiseled_aspnet_and_runs_as_the_non_root_app_user(string project)
    {
        var (repository, baseImage, _) = Images[project];
        var image = (await Evaluated.Value.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken))[project];
        var properties = image.GetProperty("Properties");

        Assert.Equal(repository, properties.GetProperty("ContainerRepository").GetString());
        Assert.Equal(baseImage, properties.GetProperty("ContainerBaseImage").GetString());
        // 1654 is the chiseled images' 'app' user; a number, so Kubernetes' runAsNonRoot can check it.
        Assert.Equal("1654", properties.GetProperty("ContainerUser").GetString());
        // Framework-dependent: dotnet runs the app's dll from /app.
        Assert.Equal(["dotnet", $"/app/{Path.GetFileNameWithoutExtension(project)}.dll"], Identities(image, "ContainerAppCommand"));
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public async Task Each_image_is_tagged_with_the_version_and_latest(string project)
    {
        var image = (await Evaluated.Value.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken))[project];
        var version = image.GetProperty("Properties").GetProperty("Version").GetString();

        Assert.False(string.IsNullOrEmpty(version));
        Assert.Equal([version!, "latest"], Identities(image, "ContainerImageTags"));
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public async Task Web_hosts_expose_8080_and_the_migrator_nothing(string project)
    {
        var servesHttp = Images[project].ServesHttp;
        var image = (await Evaluated.Value.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken))[project];
        var ports = Items(image, "ContainerPort").Select(p => $"{p.GetProperty("Identity").GetString()}/{p.GetProperty("Type").GetString()}").ToList();
        var environment = Items(image, "ContainerEnvironmentVariables")
            .ToDictionary(e => e.GetProperty("Identity").GetString()!, e => e.GetProperty("Value").GetString());

        if (servesHttp)
        {
            Assert.Equal(["8080/tcp"], ports);
            Assert.Equal("8080", environment.GetValueOrDefault("ASPNETCORE_HTTP_PORTS"));
        }
        else
        {
            Assert.Empty(ports);
            Assert.False(environment.ContainsKey("ASPNETCORE_HTTP_PORTS"));
        }
    }

    private static List<string> Identities(JsonElement image, string item) =>
        Items(image, item).Select(i => i.GetProperty("Identity").GetString()!).ToList();

    private static IEnumerable<JsonElement> Items(JsonElement image, string item) =>
        image.GetProperty("Items").TryGetProperty(item, out var items) ? items.EnumerateArray() : [];

    private static async Task<Dictionary<string, JsonElement>> EvaluateAllAsync()
    {
        var projects = Images.Keys.ToList();
        var results = await Task.WhenAll(projects.Select(EvaluateAsync));
        return projects.Zip(results).ToDictionary(p => p.First, p => p.Second);
    }

    private static async Task<JsonElement> EvaluateAsync(string project)
    {
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var (exitCode, output, error) = await DeployFiles.RunAsync(dotnet,
        [
            "msbuild", project, "-nologo", "-nodeReuse:false", "-t:ComputeContainerConfig",
            "-getProperty:ContainerRepository", "-getProperty:ContainerBaseImage", "-getProperty:ContainerUser", "-getProperty:Version",
            "-getItem:ContainerImageTags", "-getItem:ContainerPort", "-getItem:ContainerEnvironmentVariables", "-getItem:ContainerAppCommand",
        ], CancellationToken.None);
        Assert.True(exitCode == 0, $"dotnet msbuild {project} -t:ComputeContainerConfig exited {exitCode}:\n{output}\n{error}");
        return JsonDocument.Parse(output).RootElement.Clone();
    }
}
