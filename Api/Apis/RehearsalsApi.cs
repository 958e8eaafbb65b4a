using AspireBatch.Api.Services.Access;
using System.Globalization;
using System.Text;
using System.Text.Json;
using AspireBatch.Api.Infrastructure;
using AspireBatch.Api.Services;
using AspireBatch.Api.Services.Rehearsals;
using AspireBatch.Contracts;
using CsvHelper;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace AspireBatch.Api.Apis;

/// <summary>The multipart form of a rehearsal on an upload: the job's fields and file, plus the rehearsal as JSON.</summary>
public sealed class CreateRehearsalForm : CreateJobForm
{
    /// <summary>A <see cref="RehearsalRequest"/> as JSON, without the source job (the file becomes it).</summary>
    public string? Rehearsal { get; set; }
}

public static class RehearsalsApi
{
    public static RouteGroupBuilder MapRehearsalsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/rehearsals").WithTags("Rehearsals").RequireScope(ApiScopes.Jobs).OwnedRehearsals().Audited(AuditResourceTypes.Rehearsal, AuditSnapshots.Rehearsal);
        api.MapPost("/", CreateRehearsal).WithName("CreateRehearsal")
            .WithSummary("Rehearse a move: the same sample of a job's records on 2 to 5 targets (one the baseline), each as a job of its own, compared by a judge");
        api.MapPost("/upload", CreateRehearsalFromUpload).WithName("CreateRehearsalFromUpload").DisableAntiforgery()
            .WithSummary("Rehearse on an upload: the file (with the job form's fields) becomes a paused source job, and `rehearsal` (JSON) says the rest");
        api.MapGet("/", ListRehearsals).WithName("ListRehearsals").WithSummary("Rehearsals, newest first");
        api.MapGet("/{id:guid}", GetRehearsal).WithName("GetRehearsal")
            .WithSummary("The comparison: per target success, latency, tokens, cost per 1k records, projected and monthly cost, agreement with the baseline and pairwise, confusion matrices");
        api.MapGet("/{id:guid}/records", ListRehearsalRecords).WithName("ListRehearsalRecords")
            .WithSummary("The sampled records with every target's answer side by side; disagreements=true keeps those some target answered differently from the baseline");
        api.MapPost("/{id:guid}/cancel", CancelRehearsal).WithName("CancelRehearsal").WithSummary("Cancel the rehearsal's jobs; what they answered stays");
        api.MapGet("/{id:guid}/export", ExportRehearsal).WithName("ExportRehearsal")
            .WithSummary("format=json: the comparison and every record; format=csv: a row per record with every target's answer, state, latency, cost and agreement");
        api.MapGet("/{id:guid}/adoption", ProposeAdoption).WithName("ProposeAdoption")
            .WithSummary("What adopting a candidate would do: the route, the target it replaces, and thresholds proposed from the measured figures");
        api.MapPost("/{id:guid}/adopt", Adopt).WithName("AdoptRehearsal")
            .WithSummary("Make the candidate the route's primary, the current target its fallback, rollback armed with the given (or proposed) thresholds; recorded with the rehearsal");
        return api;
    }

    public static async Task<Results<Created<RehearsalDto>, ValidationProblem>> CreateRehearsal(
        RehearsalRequest request, RehearsalPlanner planner, RehearsalReports reports, CancellationToken cancellationToken) =>
        await planner.StartAsync(request, cancellationToken) switch
        {
            RehearsalStarted started => await CreatedAsync(started.Id, reports, cancellationToken),
            RehearsalRefused refused => Invalid.Field(refused.Field, refused.Message),
            _ => throw new InvalidOperationException(),
        };

    public static async Task<Results<Created<RehearsalDto>, ValidationProblem, ProblemHttpResult>> CreateRehearsalFromUpload(
        [FromForm] CreateRehearsalForm form, RehearsalPlanner planner, RehearsalReports reports, [AsParameters] JobServices jobs, CancellationToken cancellationToken)
    {
        RehearsalRequest? request;
        try
        {
            request = JsonSerializer.Deserialize<RehearsalRequest>(form.Rehearsal ?? "", JsonSerializerOptions.Web);
        }
        catch (JsonException e)
        {
            return Invalid.Field("rehearsal", $"the rehearsal field is not a rehearsal request in JSON: {e.Message}");
        }
        if (request is null)
        {
            return Invalid.Field("rehearsal", "the rehearsal field is required: the sample, the targets and the judge, as JSON");
        }
        // The rehearsal is checked before the file is stored, so a bad rehearsal leaves no source job behind.
        if (await planner.CheckAsync(request with { SourceJobId = Guid.Empty }, cancellationToken) is { } refused)
        {
            return Invalid.Field(refused.Field, refused.Message);
        }
        if (string.IsNullOrWhiteSpace(form.Model))
        {
            var baseline = request.Targets.FirstOrDefault(t => t.Baseline) ?? request.Targets[0];
            form.Model = baseline.Route ?? baseline.Model;
        }
        form.StartPaused = true;
        form.Name ??= request.Name is null ? "rehearsal source" : $"rehearsal source: {request.Name}";
        var (created, problem) = await JobsApi.ImportFormAsync(form, jobs, cancellationToken);
        if (created is null)
        {
            return problem!;
        }
        return await planner.StartAsync(request with { SourceJobId = created.Value }, cancellationToken) switch
        {
            RehearsalStarted started => await CreatedAsync(started.Id, reports, cancellationToken),
            RehearsalRefused refusedLater => Invalid.Field(refusedLater.Field, refusedLater.Message),
            _ => throw new InvalidOperationException(),
        };
    }

    public static async Task<Ok<IReadOnlyList<RehearsalSummaryDto>>> ListRehearsals(RehearsalReports reports, CancellationToken cancellationToken) =>
        TypedResults.Ok(await reports.ListAsync(cancellationToken));

    public static async Task<Results<Ok<RehearsalDto>, NotFound>> GetRehearsal(Guid id, RehearsalReports reports, CancellationToken cancellationToken) =>
        await reports.GetAsync(id, cancellationToken) is { } rehearsal ? TypedResults.Ok(rehearsal) : TypedResults.NotFound();

    public static async Task<Results<Ok<PagedResult<RehearsalRecordDto>>, NotFound, ValidationProblem>> ListRehearsalRecords(
        Guid id, RehearsalReports reports, CancellationToken cancellationToken, bool disagreements = false, int page = 1, int pageSize = 50)
    {
        if (page < 1)
        {
            return Invalid.Field("page", "page starts at 1");
        }
        if (pageSize is < 1 or > 500)
        {
            return Invalid.Field("pageSize", "pageSize is 1 to 500");
        }
        return await reports.RecordsAsync(id, disagreements, page, pageSize, cancellationToken) is { } records ? TypedResults.Ok(records) : TypedResults.NotFound();
    }

    public static async Task<Results<Ok<RehearsalDto>, NotFound, ProblemHttpResult>> CancelRehearsal(
        Guid id, RehearsalCommands commands, RehearsalReports reports, CancellationToken cancellationToken)
    {
        var result = await commands.CancelAsync(id, cancellationToken);
        return result.Outcome switch
        {
            CommandOutcome.NotFound => TypedResults.NotFound(),
            CommandOutcome.Conflict => TypedResults.Problem(result.Message, statusCode: 409, title: "Conflict"),
            _ => TypedResults.Ok((await reports.GetAsync(id, cancellationToken))!),
        };
    }

    public static async Task<Results<FileContentHttpResult, NotFound, ValidationProblem>> ExportRehearsal(
        Guid id, RehearsalReports reports, CancellationToken cancellationToken, string format = "json")
    {
        if (format is not ("json" or "csv"))
        {
            return Invalid.Field("format", "format must be json or csv");
        }
        if (await reports.ExportAsync(id, cancellationToken) is not var (report, records, labels))
        {
            return TypedResults.NotFound();
        }
        if (format == "json")
        {
            var json = JsonSerializer.SerializeToUtf8Bytes(new { rehearsal = report, records }, JsonSerializerOptions.Web);
            return TypedResults.File(json, "application/json", $"rehearsal-{id}.json");
        }
        return TypedResults.File(Csv(records, labels), "text/csv", $"rehearsal-{id}.csv");
    }

    public static async Task<Results<Ok<AdoptionProposal>, NotFound, ValidationProblem>> ProposeAdoption(
        Guid id, int candidate, RehearsalReports reports, CancellationToken cancellationToken, string? route = null)
    {
        var (proposal, problem) = await reports.ProposeAsync(id, candidate, route, cancellationToken);
        return proposal is not null ? TypedResults.Ok(proposal)
            : problem is not null ? Invalid.Field("candidate", problem)
            : TypedResults.NotFound();
    }

    public static async Task<Results<Ok<RouteAdoptionDto>, NotFound, ValidationProblem, ProblemHttpResult>> Adopt(
        Guid id, AdoptRequest request, RehearsalCommands commands, CancellationToken cancellationToken)
    {
        var (result, adoption) = await commands.AdoptAsync(id, request, cancellationToken);
        return result.Outcome switch
        {
            CommandOutcome.NotFound => TypedResults.NotFound(),
            CommandOutcome.Conflict => TypedResults.Problem(result.Message, statusCode: 409, title: "Conflict"),
            CommandOutcome.Invalid => Invalid.Field(result.Field ?? "request", result.Message!),
            _ => TypedResults.Ok(adoption!),
        };
    }

    private static async Task<Created<RehearsalDto>> CreatedAsync(Guid id, RehearsalReports reports, CancellationToken cancellationToken) =>
        TypedResults.Created($"/api/rehearsals/{id}", (await reports.GetAsync(id, cancellationToken))!);

    /// <summary>A row per record; for every target (by label) its state, answer, label, latency, cost and agreement with the baseline.</summary>
    private static byte[] Csv(IReadOnlyList<RehearsalRecordDto> records, IReadOnlyList<string> labels)
    {
        using var text = new StringWriter(CultureInfo.InvariantCulture);
        using (var csv = new CsvWriter(text, CultureInfo.InvariantCulture))
        {
            csv.WriteField("custom_id");
            csv.WriteField("line");
            foreach (var label in labels)
            {
                foreach (var column in new[] { "state", "answer", "label", "latency_ms", "cost_usd", "agrees" })
                {
                    csv.WriteField($"{label} {column}");
                }
            }
            csv.NextRecord();
            foreach (var record in records)
            {
                csv.WriteField(record.CustomId);
                csv.WriteField(record.LineNumber);
                foreach (var answer in record.Answers)
                {
                    csv.WriteField(answer.State.ToString().ToLowerInvariant());
                    csv.WriteField(answer.Text ?? answer.ErrorCode);
                    csv.WriteField(answer.Label);
                    csv.WriteField(answer.LatencyMs);
                    csv.WriteField(answer.CostUsd);
                    csv.WriteField(answer.Agrees switch { true => "yes", false => "no", null => "" });
                }
                csv.NextRecord();
            }
        }
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
