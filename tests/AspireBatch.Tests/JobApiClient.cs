using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Tests;

public sealed record CreatedJob(JobDto Job, JobEstimate Estimate);

/// <summary>What a test does with the Api, in a few words each.</summary>
public static class JobApiClient
{
    public static MultipartFormDataContent Form(string fileName, string content, IDictionary<string, string?> fields)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(Encoding.UTF8.GetBytes(content)), "file", fileName } };
        foreach (var (name, value) in fields)
        {
            if (value is not null)
            {
                form.Add(new StringContent(value), name);
            }
        }
        return form;
    }

    public static async Task<CreatedJob> CreateAsync(this HttpClient api, string fileName, string content, IDictionary<string, string?> fields)
    {
        var response = await api.PostAsync("/api/jobs", Form(fileName, content, fields));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"creating the job failed: {(int)response.StatusCode} {body}");
        return JsonSerializer.Deserialize<CreatedJob>(body, StackFixture.Json)!;
    }

    public static async Task<JobDto> GetJobAsync(this HttpClient api, Guid id) =>
        (await api.GetFromJsonAsync<JobDto>($"/api/jobs/{id}", StackFixture.Json))!;

    public static async Task<JobDto> WaitForAsync(this HttpClient api, Guid id, Func<JobDto, bool> condition, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        JobDto job;
        while (true)
        {
            job = await api.GetJobAsync(id);
            if (condition(job))
            {
                return job;
            }
            if (cts.IsCancellationRequested)
            {
                Assert.Fail($"job {id} did not reach the expected state within {timeout}: {job.State} {job.StateReason} {job.Counters}");
            }
            await Task.Delay(250);
        }
    }

    public static Task<JobDto> WaitForStateAsync(this HttpClient api, Guid id, JobState state, TimeSpan timeout) =>
        api.WaitForAsync(id, j => j.State == state, timeout);

    public static async Task<List<JsonElement>> ExportAsync(this HttpClient api, Guid id, string format = "jsonl")
    {
        var text = await api.GetStringAsync($"/api/jobs/{id}/export?format={format}");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToList();
    }

    public static Dictionary<string, string?> Fields(string model, string? userTemplate = "Classify: {{text}}", params (string, string?)[] more)
    {
        var fields = new Dictionary<string, string?> { ["model"] = model, ["userTemplate"] = userTemplate };
        foreach (var (k, v) in more)
        {
            fields[k] = v;
        }
        return fields;
    }

    public static string Jsonl(int count, Func<int, object> record) =>
        string.Join('\n', Enumerable.Range(0, count).Select(i => JsonSerializer.Serialize(record(i)))) + "\n";
}
