using System.Text;
using System.Text.RegularExpressions;
using AspireBatch.Api.Infrastructure;

namespace AspireBatch.UnitTests;

/// <summary>
/// deploy/ renders to well-formed manifests that say what docs/deploy.md says: every overlay through
/// `kubectl kustomize` (CI installs kubectl; without it these tests fail, they do not skip), and docker-compose.yaml.
/// </summary>
public sealed partial class DeployManifestTests
{
    private const string Namespace = "aspirebatch";
    private static readonly string[] OurServices = ["api", "worker", "dashboard", "migrator", "simulator"];
    private static readonly Dictionary<string, Lazy<Task<List<Dictionary<string, object?>>>>> Rendered = new()
    {
        ["dev"] = new(() => RenderAsync("dev")),
        ["prod"] = new(() => RenderAsync("prod")),
    };

    public static TheoryData<string> Overlays => new("dev", "prod");

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Every_document_is_a_named_object_in_the_aspirebatch_namespace(string overlay)
    {
        var documents = await RenderedAsync(overlay);

        Assert.NotEmpty(documents);
        foreach (var document in documents)
        {
            var what = $"{document.Text("kind")} {document.Text("metadata", "name")}";
            Assert.False(string.IsNullOrEmpty(document.Text("apiVersion")), $"{what}: no apiVersion");
            Assert.False(string.IsNullOrEmpty(document.Text("kind")), $"a document without kind: {document.Text("metadata", "name")}");
            Assert.False(string.IsNullOrEmpty(document.Text("metadata", "name")), $"{document.Text("kind")} without metadata.name");
            if (document.Text("kind") != "Namespace")
            {
                Assert.True(document.Text("metadata", "namespace") == Namespace, $"{what} is not in namespace {Namespace}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Our_workloads_probe_health_and_alive_on_8080_and_run_as_the_images_non_root_user(string overlay)
    {
        var documents = await RenderedAsync(overlay);
        var expected = overlay == "dev" ? OurServices : OurServices.Except(["simulator"]);

        Assert.Equal(expected.Order(), OurPods(documents).Select(p => p.Name).Order());
        foreach (var (name, kind, pod) in OurPods(documents))
        {
            Assert.True(pod.At("securityContext", "runAsNonRoot") is "true", $"{name}: runAsNonRoot");
            Assert.True(pod.Text("securityContext", "runAsUser") == "1654", $"{name}: runAsUser 1654 (the chiseled images' app user)");
            var container = pod.Maps("containers").Single();
            Assert.True(container.Text("securityContext", "allowPrivilegeEscalation") == "false", $"{name}: allowPrivilegeEscalation");
            if (kind == "Job")
            {
                continue;
            }
            Assert.True(container.Maps("ports").Any(p => p.Text("name") == "http" && p.Text("containerPort") == "8080"), $"{name}: port http 8080");
            Assert.True(container.Text("readinessProbe", "httpGet", "path") == "/health", $"{name}: readiness on /health");
            Assert.True(container.Text("readinessProbe", "httpGet", "port") == "http", $"{name}: readiness on the http port");
            Assert.True(container.Text("livenessProbe", "httpGet", "path") == "/alive", $"{name}: liveness on /alive");
            Assert.True(container.Text("startupProbe", "httpGet", "path") == "/alive", $"{name}: startup on /alive");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task The_migrator_job_runs_first_and_the_api_and_worker_wait_for_its_migrations(string overlay)
    {
        var documents = await RenderedAsync(overlay);

        var job = Single(documents, "Job", "migrator");
        Assert.Contains("aspirebatch/migrator:", job.Text("spec", "template", "spec", "containers", 0, "image"));
        Assert.Equal("Never", job.Text("spec", "template", "spec", "restartPolicy"));
        foreach (var name in new[] { "api", "worker" })
        {
            var wait = Single(documents, "Deployment", name).Maps("spec", "template", "spec", "initContainers").Single();
            Assert.Contains("aspirebatch/migrator:", wait.Text("image"));
            Assert.Equal("Wait", Env(wait)["Migrator__Mode"].Text("value"));
            Assert.Equal("batchdb-connection", Env(wait)["ConnectionStrings__batchdb"].Text("valueFrom", "secretKeyRef", "key"));
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task The_worker_scales_on_the_pending_items_gauge_the_api_exports(string overlay)
    {
        var documents = await RenderedAsync(overlay);

        var hpa = Single(documents, "HorizontalPodAutoscaler", "worker");
        Assert.Equal("autoscaling/v2", hpa.Text("apiVersion"));
        Assert.Equal(("apps/v1", "Deployment", "worker"),
            (hpa.Text("spec", "scaleTargetRef", "apiVersion"), hpa.Text("spec", "scaleTargetRef", "kind"), hpa.Text("spec", "scaleTargetRef", "name")));
        var metric = hpa.Maps("spec", "metrics").Single();
        Assert.Equal("External", metric.Text("type"));
        // The OTLP instrument as Prometheus names it (dots to underscores; the {item} unit adds no suffix).
        Assert.Equal(QueueTelemetry.PendingItems.Replace('.', '_'), metric.Text("external", "metric", "name"));
        Assert.Equal("AverageValue", metric.Text("external", "target", "type"));
        // The HPA owns the worker count; a replicas field would reset it at every apply.
        Assert.Null(Single(documents, "Deployment", "worker").At("spec", "replicas"));
        // Each worker's share of a limit while Redis is away is counted against the most workers there can be.
        Assert.Equal(hpa.Text("spec", "maxReplicas"), Single(documents, "ConfigMap", "aspirebatch-config").Text("data", "Worker__ExpectedReplicas"));
        Assert.True(int.Parse(hpa.Text("spec", "minReplicas")!) >= 1);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public async Task Disruption_budgets_services_and_the_ingress_point_at_pods_that_exist(string overlay)
    {
        var documents = await RenderedAsync(overlay);
        var podLabels = documents.Where(d => d.Text("kind") is "Deployment" or "StatefulSet")
            .Select(d => (Dictionary<string, object?>)d.At("spec", "template", "metadata", "labels")!).ToList();
        bool Selects(object? selector) => selector is Dictionary<string, object?> wanted && wanted.Count > 0
            && podLabels.Any(labels => wanted.All(w => labels.GetValueOrDefault(w.Key) as string == w.Value as string));

        foreach (var name in new[] { "api", "worker", "dashboard" })
        {
            Assert.True(Selects(Single(documents, "PodDisruptionBudget", name).At("spec", "selector", "matchLabels")), $"PodDisruptionBudget {name} selects no pod");
        }
        foreach (var service in documents.Where(d => d.Text("kind") == "Service"))
        {
            Assert.True(Selects(service.At("spec", "selector")), $"Service {service.Text("metadata", "name")} selects no pod");
        }
        var services = documents.Where(d => d.Text("kind") == "Service").Select(d => d.Text("metadata", "name")).ToHashSet();
        var backends = Single(documents, "Ingress", "aspirebatch").Maps("spec", "rules")
            .SelectMany(r => r.Maps("http", "paths")).Select(p => p.Text("backend", "service", "name")).ToList();
        Assert.Equal(["api", "dashboard"], backends.Order());
        Assert.All(backends, b => Assert.Contains(b, services));
    }

    [Fact]
    public async Task Prod_runs_no_postgres_or_redis_and_takes_their_connection_strings_from_secrets()
    {
        var prod = await RenderedAsync("prod");
        var dev = await RenderedAsync("dev");

        Assert.DoesNotContain(Images(prod), image => image.Contains("postgres") || image.Contains("redis"));
        Assert.DoesNotContain(prod, d => d.Text("kind") == "Service" && d.Text("metadata", "name") is "postgres" or "redis");
        Assert.DoesNotContain(prod, d => d.Text("kind") == "Secret");
        Assert.Contains(Images(dev), image => image.Contains("postgres"));
        Assert.Contains(Images(dev), image => image.Contains("redis"));
        foreach (var (name, _, pod) in OurPods(prod).Where(p => p.Name is "api" or "worker" or "migrator"))
        {
            var env = Env(pod.Maps("containers").Single());
            Assert.True(env["ConnectionStrings__batchdb"].Text("valueFrom", "secretKeyRef", "name") == "aspirebatch-secrets", $"{name}: batchdb from the Secret");
            Assert.True(env["DataProtection__CertificatePath"].Text("value") is { Length: > 0 }, $"{name}: the Data Protection certificate");
        }
    }

    [Fact]
    public async Task Dev_references_only_secrets_and_config_it_renders_and_prod_only_the_documented_ones()
    {
        var dev = await RenderedAsync("dev");
        var rendered = dev.Where(d => d.Text("kind") == "Secret")
            .ToDictionary(d => d.Text("metadata", "name")!, d => ((Dictionary<string, object?>)d.At("data")!).Keys.ToHashSet());
        foreach (var (secret, key) in SecretKeyRefs(dev))
        {
            Assert.True(rendered.TryGetValue(secret, out var keys) && keys.Contains(key), $"dev: secret {secret} has no key {key}");
        }
        var configMaps = dev.Where(d => d.Text("kind") == "ConfigMap").Select(d => d.Text("metadata", "name")).ToHashSet();
        foreach (var reference in AllMaps(dev).Where(m => m.ContainsKey("configMapRef")))
        {
            Assert.Contains(reference.Text("configMapRef", "name"), configMaps);
        }

        // Prod's Secrets are made outside kustomize, as secrets.example.env lists them.
        var example = File.ReadAllLines(DeployFiles.PathOf("deploy/overlays/prod/secrets.example.env"))
            .Where(l => !l.StartsWith('#') && l.Contains('=')).Select(l => l[..l.IndexOf('=')]).ToHashSet();
        foreach (var (secret, key) in SecretKeyRefs(await RenderedAsync("prod")))
        {
            var documented = secret switch
            {
                "aspirebatch-secrets" => example.Contains(key),
                "aspirebatch-dataprotection" => key == "password",
                _ => false,
            };
            Assert.True(documented, $"prod: secret {secret} key {key} is not in secrets.example.env");
        }
    }

    [Fact]
    public async Task No_secret_value_anywhere_is_a_real_secret()
    {
        foreach (var overlay in new[] { "dev", "prod" })
        {
            foreach (var secret in (await RenderedAsync(overlay)).Where(d => d.Text("kind") == "Secret"))
            {
                foreach (var (key, value) in (Dictionary<string, object?>)secret.At("data")!)
                {
                    var text = Encoding.UTF8.GetString(Convert.FromBase64String(Regex.Replace((string)value!, @"\s", "")));
                    AssertPlaceholder($"{overlay}: secret {secret.Text("metadata", "name")} {key}", key, text);
                }
            }
        }
        foreach (var file in new[] { "deploy/overlays/prod/secrets.example.env", "deploy/compose.env.example" })
        {
            foreach (var line in File.ReadAllLines(DeployFiles.PathOf(file)).Where(l => !l.StartsWith('#') && l.Contains('=')))
            {
                var key = line[..line.IndexOf('=')];
                var value = line[(line.IndexOf('=') + 1)..];
                if (Regex.IsMatch(key, "(key|password|connection)$", RegexOptions.IgnoreCase) && value.Length > 0)
                {
                    AssertPlaceholder($"{file}: {key}", key, value);
                }
            }
        }
    }

    [Fact]
    public void Compose_runs_the_migrator_first_and_the_same_images_and_settings()
    {
        var compose = DeployFiles.ReadYaml(File.ReadAllText(DeployFiles.PathOf("docker-compose.yaml"))).Single();
        var services = (Dictionary<string, object?>)compose.At("services")!;

        Assert.Equal(new[] { "postgres", "redis" }.Concat(OurServices).Order(), services.Keys.Order());
        foreach (var name in OurServices)
        {
            Assert.Matches($@"^\$\{{IMAGE_REGISTRY:-\}}aspirebatch/{name}:\$\{{IMAGE_TAG:-latest\}}$", services.Text(name, "image"));
        }
        Assert.Equal("service_healthy", services.Text("migrator", "depends_on", "postgres", "condition"));
        foreach (var name in new[] { "api", "worker" })
        {
            Assert.Equal("service_completed_successfully", services.Text(name, "depends_on", "migrator", "condition"));
            Assert.NotNull(services.Text(name, "environment", "ConnectionStrings__batchdb"));
            Assert.NotNull(services.Text(name, "environment", "ConnectionStrings__redis"));
        }
        Assert.Equal("no", services.Text("migrator", "restart"));
        Assert.Equal("${WORKER_REPLICAS:-2}", services.Text("worker", "deploy", "replicas"));
        Assert.Equal("${WORKER_REPLICAS:-2}", services.Text("worker", "environment", "Worker__ExpectedReplicas"));
        Assert.Equal(["simulator"], ((List<object?>)services.At("simulator", "profiles")!).Cast<string>());
        Assert.EndsWith(":8080", services.Text("api", "ports", 0));
        Assert.EndsWith(":8080", services.Text("dashboard", "ports", 0));
        // Secrets come from .env, never from this file.
        foreach (var (service, variable) in new[] { ("api", "Api__Key"), ("migrator", "Seed__Admin__Password"), ("postgres", "POSTGRES_PASSWORD") })
        {
            Assert.Matches(@"^\$\{[A-Z_]+:\?", services.Text(service, "environment", variable));
        }
        Assert.Contains("Password=${POSTGRES_PASSWORD:?", services.Text("api", "environment", "ConnectionStrings__batchdb"));
    }

    // --- helpers ---

    private static void AssertPlaceholder(string where, string key, string value)
    {
        var passwords = PasswordPart().Matches(value).Select(m => m.Groups[1].Value).ToList();
        if (passwords.Count > 0)
        {
            Assert.True(passwords.All(p => p.StartsWith("change-me", StringComparison.Ordinal)), $"{where}: a password that is not a change-me placeholder");
        }
        else if (!key.EndsWith("-user", StringComparison.Ordinal) && !key.EndsWith("-connection", StringComparison.Ordinal))
        {
            Assert.True(value.StartsWith("change-me", StringComparison.Ordinal), $"{where}: '{value[..Math.Min(4, value.Length)]}...' is not a change-me placeholder");
        }
    }

    [GeneratedRegex("password=([^;,]*)", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordPart();

    private static async Task<List<Dictionary<string, object?>>> RenderedAsync(string overlay) =>
        await Rendered[overlay].Value.WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);

    private static async Task<List<Dictionary<string, object?>>> RenderAsync(string overlay)
    {
        var kubectl = DeployFiles.FindOnPath("kubectl");
        Assert.True(kubectl is not null,
            "kubectl is not installed, so deploy/ cannot be rendered: apt-get install -y kubernetes-client (.ci/run installs it when kubectl is missing)");
        var (exitCode, output, error) = await DeployFiles.RunAsync(kubectl!, ["kustomize", $"deploy/overlays/{overlay}"], CancellationToken.None);
        Assert.True(exitCode == 0, $"kubectl kustomize deploy/overlays/{overlay} exited {exitCode}: {error}");
        return DeployFiles.ReadYaml(output);
    }

    private static Dictionary<string, object?> Single(List<Dictionary<string, object?>> documents, string kind, string name) =>
        Assert.Single(documents, d => d.Text("kind") == kind && d.Text("metadata", "name") == name);

    /// <summary>The pod templates that run our images (not Postgres or Redis), named by their container.</summary>
    private static IEnumerable<(string Name, string Kind, Dictionary<string, object?> Pod)> OurPods(List<Dictionary<string, object?>> documents) =>
        documents.Where(d => d.Text("kind") is "Deployment" or "StatefulSet" or "Job")
            .Select(d => (Kind: d.Text("kind")!, Pod: (Dictionary<string, object?>)d.At("spec", "template", "spec")!))
            .Where(p => p.Pod.Maps("containers").Any(c => c.Text("image")!.Contains("aspirebatch/")))
            .Select(p => (p.Pod.Maps("containers").First().Text("name")!, p.Kind, p.Pod));

    private static Dictionary<string, Dictionary<string, object?>> Env(Dictionary<string, object?> container) =>
        container.Maps("env").ToDictionary(e => e.Text("name")!);

    private static IEnumerable<string> Images(List<Dictionary<string, object?>> documents) =>
        AllMaps(documents).Where(m => m.ContainsKey("image") && m.ContainsKey("name")).Select(m => m.Text("image")!);

    private static IEnumerable<(string Secret, string Key)> SecretKeyRefs(List<Dictionary<string, object?>> documents) =>
        AllMaps(documents).Where(m => m.ContainsKey("secretKeyRef") && m.Text("secretKeyRef", "optional") != "true")
            .Select(m => (m.Text("secretKeyRef", "name")!, m.Text("secretKeyRef", "key")!));

    private static IEnumerable<Dictionary<string, object?>> AllMaps(IEnumerable<object?> values)
    {
        foreach (var value in values)
        {
            switch (value)
            {
                case Dictionary<string, object?> map:
                    yield return map;
                    foreach (var inner in AllMaps(map.Values))
                    {
                        yield return inner;
                    }
                    break;
                case List<object?> list:
                    foreach (var inner in AllMaps(list))
                    {
                        yield return inner;
                    }
                    break;
            }
        }
    }
}
