using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using AspireBatch.Simulator.Apis;

namespace AspireBatch.Simulator.Tests;

/// <summary>The simulator's /v1/embeddings: OpenAI's shape, deterministic unit vectors, both encodings, OpenAI's errors.</summary>
public sealed class EmbeddingsApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_input_list_gets_one_deterministic_unit_vector_each_in_the_openai_shape()
    {
        await using var sim = await SimulatorHost.StartAsync("EmbeddingDimensions=48");
        using var response = await sim.Client.PostAsJsonAsync("/v1/embeddings", new { model = "text-embedding-3-small", input = new[] { "alpha beta", "gamma" } }, Ct);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var root = json.RootElement;
        Assert.Equal("list", root.GetProperty("object").GetString());
        Assert.Equal("text-embedding-3-small", root.GetProperty("model").GetString());
        var data = root.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal([0, 1], data.Select(d => d.GetProperty("index").GetInt32()));
        Assert.All(data, d => Assert.Equal("embedding", d.GetProperty("object").GetString()));
        var first = data[0].GetProperty("embedding").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(48, first.Length);
        Assert.Equal(1.0, Math.Sqrt(first.Sum(v => (double)v * v)), 4);
        Assert.Equal(EmbeddingsApi.Vector("text-embedding-3-small", "alpha beta", 48), first);
        Assert.NotEqual(first, EmbeddingsApi.Vector("text-embedding-3-small", "gamma", 48));
        Assert.Equal(EmbeddingsApi.Vector("text-embedding-3-small", "alpha beta", 48), EmbeddingsApi.Vector("text-embedding-3-small", "alpha beta", 48));
        // Tokens as for chat content: 2 + 1 words.
        Assert.Equal(3, root.GetProperty("usage").GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(3, root.GetProperty("usage").GetProperty("total_tokens").GetInt32());
    }

    [Fact]
    public async Task Dimensions_and_base64_are_honoured()
    {
        await using var sim = await SimulatorHost.StartAsync();
        using var response = await sim.Client.PostAsJsonAsync("/v1/embeddings",
            new { model = "text-embedding-3-small", input = "one", dimensions = 8, encoding_format = "base64" }, Ct);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        var bytes = Convert.FromBase64String(json.RootElement.GetProperty("data")[0].GetProperty("embedding").GetString()!);
        var vector = new float[bytes.Length / 4];
        Buffer.BlockCopy(bytes, 0, vector, 0, bytes.Length);
        Assert.Equal(EmbeddingsApi.Vector("text-embedding-3-small", "one", 8), vector);
    }

    [Theory]
    [InlineData("""{"input":"x"}""", HttpStatusCode.BadRequest, "model")]
    [InlineData("""{"model":"nope","input":"x"}""", HttpStatusCode.NotFound, "nope")]
    [InlineData("""{"model":"text-embedding-3-small"}""", HttpStatusCode.BadRequest, "input")]
    [InlineData("""{"model":"text-embedding-3-small","input":[]}""", HttpStatusCode.BadRequest, "input")]
    [InlineData("""{"model":"text-embedding-3-small","input":"x","dimensions":0}""", HttpStatusCode.BadRequest, "dimensions")]
    [InlineData("""{"model":"text-embedding-3-small","input":"x","encoding_format":"int8"}""", HttpStatusCode.BadRequest, "encoding_format")]
    public async Task A_bad_request_gets_openais_error(string body, HttpStatusCode status, string mentioned)
    {
        await using var sim = await SimulatorHost.StartAsync();
        using var response = await sim.Client.PostAsync("/v1/embeddings", new StringContent(body, System.Text.Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(status, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Contains(mentioned, json.RootElement.GetProperty("error").GetProperty("message").GetString());
    }

    [Fact]
    public async Task Faults_and_counters_apply_as_for_chat()
    {
        await using var sim = await SimulatorHost.StartAsync("Error500Rate=1");
        using var response = await sim.Client.PostAsJsonAsync("/v1/embeddings", new { model = "text-embedding-3-small", input = "x" }, Ct);
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        using var stats = JsonDocument.Parse(await sim.Client.GetStringAsync("/admin/stats", Ct));
        Assert.Equal(1, stats.RootElement.GetProperty("embeddingRequests").GetInt64());
        Assert.Equal(0, stats.RootElement.GetProperty("chatRequests").GetInt64());
    }
}
