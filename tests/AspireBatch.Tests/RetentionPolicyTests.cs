// The SDK marks its Batch client experimental (OPENAI001); user code calls it exactly like this.
#pragma warning disable OPENAI001
using System.ClientModel;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using AspireBatch.Contracts;
using Npgsql;
using OpenAI.Files;

namespace AspireBatch.Tests;

/// <summary>
/// Retention on the real stack (the fixture sweeps every second): files honour OpenAI's <c>expires_after</c> and a
/// batch's <c>output_expires_after</c>, answer 404 from the moment they expire and are then deleted by the Worker's
/// sweeper with a FileExpired audit row; a team's policy purges its old finished jobs, and only those, with a
/// RetentionPurge receipt; the operator's purge leaves its receipt too.
/// </summary>
public sealed class RetentionPolicyTests(StackFixture stack) : IAsyncLifetime
{
    /// <summary>How the audit log names the AppHost's key (CallerAccess.AppHostKeyName).</summary>
    private const string CallerAccessActor = "api-key (AppHost)";
    private static readonly TimeSpan SweepTimeout = TimeSpan.FromSeconds(30);
    private readonly TeamKeys _keys = new(stack);

    public async ValueTask InitializeAsync() => await stack.ResetSimulatorsAsync();

    public async ValueTask DisposeAsync()
    {
        _keys.Dispose();
        await stack.ResetSimulatorsAsync();
    }

    [Fact]
    public async Task An_upload_with_expires_after_expires_at_created_at_plus_seconds_answers_404_from_then_and_the_sweeper_deletes_it()
    {
        var response = await UploadAsync($"expiring-{Guid.NewGuid():N}.jsonl", ("expires_after[anchor]", "created_at"), ("expires_after[seconds]", "3600"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var file = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = file.GetProperty("id").GetString()!;
        Assert.Equal(file.GetProperty("created_at").GetInt64() + 3600, file.GetProperty("expires_at").GetInt64());
        var read = await stack.Api.GetFromJsonAsync<JsonElement>($"/v1/files/{id}");
        Assert.Equal(file.GetProperty("expires_at").GetInt64(), read.GetProperty("expires_at").GetInt64());
        var files = OpenAiSdk.Client(stack).GetOpenAIFileClient();
        Assert.Equal(3, OpenAiSdk.Lines((await files.DownloadFileAsync(id)).Value.ToString()).Count);

        // It expires. A key-share lock on the row holds the sweeper's delete back, so what the Api answers now comes
        // from expires_at alone: 404 everywhere while the row is still there.
        await using (var holder = await stack.OpenDatabaseAsync())
        {
            await using var transaction = await holder.BeginTransactionAsync();
            await using (var hold = new NpgsqlCommand("SELECT 1 FROM files WHERE id = @id FOR KEY SHARE", holder, transaction))
            {
                hold.Parameters.AddWithValue("id", id);
                Assert.Equal(1, await hold.ExecuteScalarAsync());
            }
            await ExecuteAsync("UPDATE files SET expires_at = now() - interval '1 second' WHERE id = @id", ("id", id));

            await AssertOpenAiNotFoundAsync(await stack.Api.GetAsync($"/v1/files/{id}"));
            await AssertOpenAiNotFoundAsync(await stack.Api.GetAsync($"/v1/files/{id}/content"));
            Assert.Equal(404, (await Assert.ThrowsAsync<ClientResultException>(() => files.DownloadFileAsync(id))).Status);
            var list = await stack.Api.GetFromJsonAsync<JsonElement>("/v1/files?limit=10000");
            Assert.DoesNotContain(list.GetProperty("data").EnumerateArray(), f => f.GetProperty("id").GetString() == id);
            await AssertOpenAiNotFoundAsync(await stack.Api.PostAsJsonAsync("/v1/batches",
                new { input_file_id = id, endpoint = "/v1/chat/completions", completion_window = "24h" }));
            Assert.Equal(1L, await stack.ScalarAsync<long>("SELECT count(*) FROM files WHERE id = @id", ("id", id)));
            await transaction.RollbackAsync();
        }

        // The sweeper deletes it, content and all, and says so in the audit log.
        await EventuallyAsync(() => stack.ScalarAsync<long>("SELECT count(*) FROM files WHERE id = @id", ("id", id)), n => n == 0, "the expired file to be deleted");
        var entry = Assert.Single(await AuditAsync("file", id, "FileExpired"));
        Assert.Equal(("system", ApiScopes.AdminTeam, "FileExpired"), (entry.Actor, entry.Team, entry.Action));
        Assert.Equal(id, entry.Before!.Value.GetProperty("id").GetString());
        Assert.Equal(file.GetProperty("filename").GetString(), entry.Before.Value.GetProperty("filename").GetString());
        Assert.True(entry.Before.Value.GetProperty("expires_at").GetInt64() <= DateTimeOffset.UtcNow.ToUnixTimeSeconds());
        Assert.Null(entry.After);
    }

    [Theory]
    [InlineData("created_at", "60", "expires_after.seconds")]
    [InlineData("created_at", "2592001", "expires_after.seconds")]
    [InlineData("created_at", "a day", "expires_after.seconds")]
    [InlineData("created_at", null, "expires_after.seconds")]
    [InlineData("last_active_at", "3600", "expires_after.anchor")]
    [InlineData(null, "3600", "expires_after.anchor")]
    public async Task A_bad_expires_after_is_refused_in_openais_shape_and_stores_nothing(string? anchor, string? seconds, string param)
    {
        var name = $"refused-{Guid.NewGuid():N}.jsonl";
        var fields = new List<(string, string)>();
        if (anchor is not null)
        {
            fields.Add(("expires_after[anchor]", anchor));
        }
        if (seconds is not null)
        {
            fields.Add(("expires_after[seconds]", seconds));
        }
        var response = await UploadAsync(name, [.. fields]);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(0L, await stack.ScalarAsync<long>("SELECT count(*) FROM files WHERE file_name = @name", ("name", name)));
    }

    [Fact]
    public async Task A_batchs_output_expires_after_puts_expires_at_on_its_output_file_which_then_expires()
    {
        var client = OpenAiSdk.Client(stack);
        var files = client.GetOpenAIFileClient();
        OpenAIFile input = await files.UploadFileAsync(BinaryData.FromString(OpenAiSdk.BatchLines(5, "deepseek-chat")), "output-expiry.jsonl", FileUploadPurpose.Batch);
        // Uploaded without expires_after: kept until deleted.
        Assert.Equal(JsonValueKind.Null, (await stack.Api.GetFromJsonAsync<JsonElement>($"/v1/files/{input.Id}")).GetProperty("expires_at").ValueKind);

        // Bad policies: OpenAI's 400, and no batch.
        foreach (var (policy, param) in new (object, string)[]
        {
            (new { anchor = "created_at", seconds = 60 }, "output_expires_after.seconds"),
            (new { anchor = "created_at", seconds = 3_000_000 }, "output_expires_after.seconds"),
            (new { anchor = "created_at", seconds = "86400" }, "output_expires_after.seconds"),
            (new { anchor = "completed_at", seconds = 86_400 }, "output_expires_after.anchor"),
            (new { seconds = 86_400 }, "output_expires_after.anchor"),
            ("one day", "output_expires_after"),
        })
        {
            var refused = await stack.Api.PostAsJsonAsync("/v1/batches",
                new { input_file_id = input.Id, endpoint = "/v1/chat/completions", completion_window = "24h", output_expires_after = policy });
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            var error = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
            Assert.Equal(("invalid_request_error", param), (error.GetProperty("type").GetString(), error.GetProperty("param").GetString()));
        }
        Assert.Equal(0L, await stack.ScalarAsync<long>("SELECT count(*) FROM jobs WHERE input_file_id = @id", ("id", input.Id)));

        var body = BinaryContent.Create(BinaryData.FromObjectAsJson(new
        {
            input_file_id = input.Id, endpoint = "/v1/chat/completions", completion_window = "24h",
            output_expires_after = new { anchor = "created_at", seconds = 86_400 },
        }));
        var operation = await client.GetBatchClient().CreateBatchAsync(body, waitUntilCompleted: false);
        var batch = await OpenAiSdk.WaitForCompletionAsync(operation, TimeSpan.FromMinutes(1));
        Assert.Equal("completed", batch.GetProperty("status").GetString());
        var outputId = batch.GetProperty("output_file_id").GetString()!;
        var output = await stack.Api.GetFromJsonAsync<JsonElement>($"/v1/files/{outputId}");
        Assert.Equal("batch_output", output.GetProperty("purpose").GetString());
        Assert.Equal(output.GetProperty("created_at").GetInt64() + 86_400, output.GetProperty("expires_at").GetInt64());
        Assert.Equal(5, OpenAiSdk.Lines((await files.DownloadFileAsync(outputId)).Value.ToString()).Count);

        // Expired: 404 at once; the sweeper deletes it (a tombstone: the batch still names it, as at OpenAI) with its audit row.
        await ExecuteAsync("UPDATE files SET expires_at = now() - interval '1 second' WHERE id = @id", ("id", outputId));
        await AssertOpenAiNotFoundAsync(await stack.Api.GetAsync($"/v1/files/{outputId}"));
        await AssertOpenAiNotFoundAsync(await stack.Api.GetAsync($"/v1/files/{outputId}/content"));
        await EventuallyAsync(() => AuditAsync("file", outputId, "FileExpired"), entries => entries.Count == 1, "the output file's FileExpired audit row");
        Assert.Equal(1L, await stack.ScalarAsync<long>("SELECT count(*) FROM files WHERE id = @id AND deleted_at IS NOT NULL", ("id", outputId)));
        var after = OpenAiSdk.Json(await client.GetBatchClient().GetBatchAsync(operation.BatchId, options: null));
        Assert.Equal(("completed", outputId), (after.GetProperty("status").GetString(), after.GetProperty("output_file_id").GetString()));
        await AssertOpenAiNotFoundAsync(await stack.Api.GetAsync($"/v1/files/{outputId}"));
    }

    [Fact]
    public async Task A_teams_policy_purges_its_old_finished_jobs_only_with_a_receipt_in_the_audit_log()
    {
        var teamA = TeamKeys.Team("keep7");
        var teamB = TeamKeys.Team("keep30");
        var a = (await _keys.CreateAsync(teamA, [ApiScopes.Jobs])).Client;
        var b = (await _keys.CreateAsync(teamB, [ApiScopes.Jobs])).Client;
        var oldA = await RunAsync(a, "old-a", 12);
        var recentA = await RunAsync(a, "recent-a", 6);
        var oldB = await RunAsync(b, "old-b", 8);
        // Finished ten days ago: team A keeps 7 days, team B 30.
        await ExecuteAsync("UPDATE jobs SET created_at = now() - interval '10 days', started_at = now() - interval '10 days', completed_at = now() - interval '10 days' WHERE id = ANY(@ids)",
            ("ids", new[] { oldA.Id, oldB.Id }));
        // A slow job of team A, still running, started ten days ago: its age alone does not make it purgeable.
        await stack.ResetSimulatorsAsync(primaryLatencyMs: 3000, fallbackLatencyMs: 3000);
        var running = (await a.CreateAsync("running-a.jsonl", JobApiClient.Jsonl(1000, i => new { id = $"r{i}", text = $"still going {i}" }),
            JobApiClient.Fields("deepseek-chat"))).Job;
        await a.WaitForStateAsync(running.Id, JobState.Running, TimeSpan.FromMinutes(1));
        await ExecuteAsync("UPDATE jobs SET created_at = now() - interval '10 days', started_at = now() - interval '10 days' WHERE id = @id", ("id", running.Id));
        var attempts = await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @id", ("id", oldA.Id));

        (await stack.Api.PutAsJsonAsync($"/api/retention/policies/{teamA}", new RetentionPolicyRequest(7), StackFixture.Json)).EnsureSuccessStatusCode();
        (await stack.Api.PutAsJsonAsync($"/api/retention/policies/{teamB}", new RetentionPolicyRequest(30), StackFixture.Json)).EnsureSuccessStatusCode();

        var purged = await a.WaitForAsync(oldA.Id, j => j.Purged is not null, SweepTimeout);
        Assert.Equal(12, purged.Purged!.Records);
        Assert.Equal(oldA.Counters.Succeeded, purged.Counters.Succeeded);
        Assert.Equal(0L, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @id", ("id", oldA.Id)));
        Assert.Equal(attempts, await stack.ScalarAsync<long>("SELECT count(*) FROM attempts WHERE job_id = @id", ("id", oldA.Id)));
        var purge = Assert.Single((await a.GetFromJsonAsync<List<JobEventDto>>($"/api/jobs/{oldA.Id}/events", StackFixture.Json))!, e => e.Kind == JobEventKind.Purged);
        Assert.Equal(JobActor.Retention, purge.Actor);

        // The receipt: who (system), whose (the team), the job as it was, and what was deleted.
        var receipt = Assert.Single(await AuditAsync("job", oldA.Id.ToString(), "RetentionPurge"));
        Assert.Equal(("system", teamA, "job"), (receipt.Actor, receipt.Team, receipt.ResourceType));
        var before = receipt.Before!.Value.Deserialize<RetentionJobSummary>(StackFixture.Json)!;
        Assert.Equal((oldA.Id, teamA, JobState.Completed, 12), (before.Id, before.Team, before.State, before.TotalItems));
        Assert.True(before.FinishedAt < DateTimeOffset.UtcNow.AddDays(-9));
        var after = receipt.After!.Value.Deserialize<RetentionPurgeReceipt>(StackFixture.Json)!;
        Assert.Equal((oldA.Id, teamA, 7, 12, attempts), (after.JobId, after.Team, after.PolicyDays, after.RecordsDeleted, (long)after.AttemptsKept));
        Assert.Equal(purged.Purged.Bytes, after.BytesFreed);
        Assert.True(after.BytesFreed > 0);

        // A few more sweeps: the recent job, the running one and team B's (kept 30 days) stay whole.
        await Task.Delay(TimeSpan.FromSeconds(4));
        foreach (var (client, job, records) in new[] { (a, recentA, 6), (b, oldB, 8), (a, running, 1000) })
        {
            Assert.Null((await client.GetJobAsync(job.Id)).Purged);
            Assert.Equal((long)records, await stack.ScalarAsync<long>("SELECT count(*) FROM items WHERE job_id = @id", ("id", job.Id)));
            Assert.Empty(await AuditAsync("job", job.Id.ToString(), "RetentionPurge"));
        }
        Assert.Equal(JobState.Running, (await a.GetJobAsync(running.Id)).State);
        (await a.PostAsync($"/api/jobs/{running.Id}/cancel", null)).EnsureSuccessStatusCode();
        foreach (var team in new[] { teamA, teamB })
        {
            Assert.Equal(HttpStatusCode.NoContent, (await stack.Api.DeleteAsync($"/api/retention/policies/{team}")).StatusCode);
        }
    }

    [Fact]
    public async Task Policies_are_admin_only_validated_listed_and_audited()
    {
        var team = TeamKeys.Team("policy");
        var key = (await _keys.CreateAsync(team, [ApiScopes.Jobs])).Client;
        Assert.Equal(HttpStatusCode.Forbidden, (await key.GetAsync("/api/retention/policies")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await key.PutAsJsonAsync($"/api/retention/policies/{team}", new RetentionPolicyRequest(3), StackFixture.Json)).StatusCode);

        foreach (var (url, days, field) in new[]
        {
            ($"/api/retention/policies/{team}", 0, "purgeFinishedJobsAfterDays"),
            ($"/api/retention/policies/{team}", 36_501, "purgeFinishedJobsAfterDays"),
            ("/api/retention/policies/Not%20A%20Team", 3, "team"),
        })
        {
            var refused = await stack.Api.PutAsJsonAsync(url, new RetentionPolicyRequest(days), StackFixture.Json);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.True((await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _));
        }
        Assert.DoesNotContain(await PoliciesAsync(), p => p.Team == team);

        var set = await stack.Api.PutAsJsonAsync($"/api/retention/policies/{team}", new RetentionPolicyRequest(14), StackFixture.Json);
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var dto = (await set.Content.ReadFromJsonAsync<RetentionPolicyDto>(StackFixture.Json))!;
        Assert.Equal((team, 14), (dto.Team, dto.PurgeFinishedJobsAfterDays));
        (await stack.Api.PutAsJsonAsync($"/api/retention/policies/{team}", new RetentionPolicyRequest(60), StackFixture.Json)).EnsureSuccessStatusCode();
        Assert.Equal(60, Assert.Single(await PoliciesAsync(), p => p.Team == team).PurgeFinishedJobsAfterDays);

        Assert.Equal(HttpStatusCode.NoContent, (await stack.Api.DeleteAsync($"/api/retention/policies/{team}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stack.Api.DeleteAsync($"/api/retention/policies/{team}")).StatusCode);
        Assert.DoesNotContain(await PoliciesAsync(), p => p.Team == team);

        // Every change in the audit log, newest first, with the policy before and after.
        var changes = await AuditAsync("retention-policy", team, "RetentionPolicy");
        Assert.Equal(["RemoveRetentionPolicy", "SetRetentionPolicy", "SetRetentionPolicy"], changes.Select(c => c.Action));
        Assert.All(changes, c => Assert.Equal((CallerAccessActor, team), (c.Actor, c.ResourceId)));
        Assert.Equal(60, changes[0].Before!.Value.GetProperty("purgeFinishedJobsAfterDays").GetInt32());
        Assert.Null(changes[0].After);
        Assert.Equal((14, 60), (changes[1].Before!.Value.GetProperty("purgeFinishedJobsAfterDays").GetInt32(), changes[1].After!.Value.GetProperty("purgeFinishedJobsAfterDays").GetInt32()));
        Assert.Null(changes[2].Before);
    }

    [Fact]
    public async Task Expired_response_cache_entries_are_deleted_by_the_sweeper()
    {
        var created = await stack.Api.CreateAsync("cached.jsonl", JobApiClient.Jsonl(6, i => new { id = $"c{i}", text = $"cache me {Guid.NewGuid()}" }),
            JobApiClient.Fields("deepseek-chat", more: [("responseCacheTtlSeconds", "3600")]));
        var job = await stack.Api.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
        Assert.Equal(6L, await stack.ScalarAsync<long>("SELECT count(*) FROM response_cache WHERE source_job_id = @job", ("job", job.Id)));

        // Four of the six expire; the other two are still good for an hour.
        await ExecuteAsync("""
            UPDATE response_cache SET expires_at = now() - interval '1 second'
            WHERE source_item_id IN (SELECT source_item_id FROM response_cache WHERE source_job_id = @job ORDER BY source_item_id LIMIT 4)
            """, ("job", job.Id));
        await EventuallyAsync(() => stack.ScalarAsync<long>("SELECT count(*) FROM response_cache WHERE source_job_id = @job", ("job", job.Id)),
            n => n == 2, "the expired cache entries to be deleted");
        Assert.Equal(2L, await stack.ScalarAsync<long>("SELECT count(*) FROM response_cache WHERE source_job_id = @job AND expires_at > now() + interval '50 minutes'", ("job", job.Id)));
    }

    [Fact]
    public async Task The_operators_purge_leaves_its_receipt_in_the_audit_log()
    {
        var job = await RunAsync(stack.Api, "manual", 7);
        var response = await stack.Api.PostAsync($"/api/jobs/{job.Id}/purge", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var purged = (await response.Content.ReadFromJsonAsync<JobPurged>(StackFixture.Json))!;

        var entry = Assert.Single(await AuditAsync("job", job.Id.ToString(), "PurgeJob"));
        Assert.Equal((CallerAccessActor, ApiScopes.AdminTeam, "PurgeJob"), (entry.Actor, entry.Team, entry.Action));
        var before = entry.Before!.Value.Deserialize<JobDto>(StackFixture.Json)!;
        Assert.Equal((job.Id, JobState.Completed), (before.Id, before.State));
        Assert.Null(before.Purged);
        var after = entry.After!.Value.Deserialize<JobPurged>(StackFixture.Json)!;
        Assert.Equal((7, purged.BytesFreed, purged.AttemptsKept), (after.RecordsDeleted, after.BytesFreed, after.AttemptsKept));
        Assert.NotNull(after.Job.Purged);
        Assert.True(after.BytesFreed > 0);
        // A refused purge changes nothing and is not logged.
        Assert.Equal(HttpStatusCode.Conflict, (await stack.Api.PostAsync($"/api/jobs/{job.Id}/purge", null)).StatusCode);
        Assert.Single(await AuditAsync("job", job.Id.ToString(), "PurgeJob"));
    }

    /// <summary>A small job of the client's team, run to completion.</summary>
    private static async Task<JobDto> RunAsync(HttpClient client, string name, int records)
    {
        var created = await client.CreateAsync($"{name}.jsonl", JobApiClient.Jsonl(records, i => new { id = $"{name}-{i}", text = $"{name} review {i}" }),
            JobApiClient.Fields("deepseek-chat"));
        return await client.WaitForStateAsync(created.Job.Id, JobState.Completed, TimeSpan.FromMinutes(2));
    }

    private Task<HttpResponseMessage> UploadAsync(string name, params (string Field, string Value)[] fields)
    {
        var form = new MultipartFormDataContent
        {
            { new StringContent("batch"), "purpose" },
            { new ByteArrayContent(Encoding.UTF8.GetBytes(OpenAiSdk.BatchLines(3, "deepseek-chat"))), "file", name },
        };
        foreach (var (field, value) in fields)
        {
            form.Add(new StringContent(value), field);
        }
        return stack.Api.PostAsync("/v1/files", form);
    }

    private async Task<List<RetentionPolicyDto>> PoliciesAsync() =>
        (await stack.Api.GetFromJsonAsync<List<RetentionPolicyDto>>("/api/retention/policies", StackFixture.Json))!;

    private async Task<List<AuditEntryDto>> AuditAsync(string resourceType, string resourceId, string action) =>
        [.. (await stack.Api.GetFromJsonAsync<PagedResult<AuditEntryDto>>(
            $"/api/audit?resourceType={resourceType}&resourceId={Uri.EscapeDataString(resourceId)}&action={action}", StackFixture.Json))!.Items];

    private async Task ExecuteAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = await stack.OpenDatabaseAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        Assert.True(await command.ExecuteNonQueryAsync() > 0, $"no row changed: {sql}");
    }

    private static async Task AssertOpenAiNotFoundAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains("No such File object", error.GetProperty("message").GetString());
    }

    private static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }
            Assert.True(clock.Elapsed < SweepTimeout, $"waited {SweepTimeout} for {what}");
            await Task.Delay(250);
        }
    }
}
