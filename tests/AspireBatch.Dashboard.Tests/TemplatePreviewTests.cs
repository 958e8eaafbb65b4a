using AspireBatch.Contracts;
using AspireBatch.Dashboard.Api;
using AspireBatch.Dashboard.Components.Shared;

namespace AspireBatch.Dashboard.Tests;

public sealed class TemplatePreviewTests : DashboardContext
{
    private static readonly TemplatePreview Preview = new(
        [
            new RenderedRecord("r-1", 1, "You classify reviews.", "Classify: great <b>product</b>"),
            new RenderedRecord("r-2", 2, null, "Classify: awful"),
        ],
        new JobEstimate(1_234_567, 98_765_432, 1_000_000, 12.3456m, "deepseek-chat"));

    [Fact]
    public void Renders_each_record_as_it_will_be_sent()
    {
        var view = Render<TemplatePreviewView>(p => p.Add(c => c.Preview, Preview));
        var records = view.FindAll("[data-testid=preview-record]");
        Assert.Equal(2, records.Count);
        Assert.Equal("r-1", records[0].GetAttribute("data-record-id"));
        Assert.Equal("You classify reviews.", records[0].QuerySelector("[data-testid=preview-system]")!.TextContent);
        // Rendered as text, never as markup.
        Assert.Equal("Classify: great <b>product</b>", records[0].QuerySelector("[data-testid=preview-user]")!.TextContent);
        Assert.Null(records[1].QuerySelector("[data-testid=preview-system]"));
        Assert.Contains("Line 2", records[1].TextContent);
    }

    [Fact]
    public void Shows_the_estimate_formatted()
    {
        var view = Render<TemplatePreviewView>(p => p.Add(c => c.Preview, Preview));
        Assert.Equal("1,234,567", view.Find("[data-testid=estimate-items]").TextContent);
        Assert.Equal("98,765,432", view.Find("[data-testid=estimate-input-tokens]").TextContent);
        Assert.Equal("1,000,000", view.Find("[data-testid=estimate-output-tokens]").TextContent);
        Assert.Equal("$12.35", view.Find("[data-testid=estimate-cost]").TextContent);
        Assert.Contains("deepseek-chat", view.Find("[data-testid=preview-estimate]").TextContent);
    }

    [Fact]
    public void Warns_when_the_budget_is_below_the_cost_bound()
    {
        var under = Render<TemplatePreviewView>(p => p.Add(c => c.Preview, Preview).Add(c => c.BudgetUsd, 5m));
        Assert.Contains("$5.00", under.Find("[data-testid=budget-note]").TextContent);

        var enough = Render<TemplatePreviewView>(p => p.Add(c => c.Preview, Preview).Add(c => c.BudgetUsd, 50m));
        Assert.Empty(enough.FindAll("[data-testid=budget-note]"));
    }

    [Fact]
    public void Lists_the_answer_fields_a_schema_declares_and_nothing_without_one()
    {
        var view = Render<TemplatePreviewView>(p => p.Add(c => c.Preview, Preview with
        {
            AnswerFields = [new AnswerFieldDto("answer.sentiment", "sentiment", "string"), new AnswerFieldDto("answer.topics", "topics", "array")],
        }));
        var rows = view.FindAll("[data-testid=preview-answer-field]");
        Assert.Equal(["answer.sentiment string", "answer.topics array"], rows.Select(r => string.Join(' ', r.QuerySelectorAll("td").Select(td => td.TextContent.Trim()))));

        Assert.Empty(Render<TemplatePreviewView>(p => p.Add(c => c.Preview, Preview)).FindAll("[data-testid=preview-answer-fields]"));
    }

    [Fact]
    public void Renders_nothing_without_a_preview() =>
        Assert.Empty(Render<TemplatePreviewView>().FindAll("[data-testid=template-preview]"));

    [Fact]
    public void Says_so_when_the_file_has_no_records()
    {
        var view = Render<TemplatePreviewView>(p => p.Add(c => c.Preview, Preview with { Records = [] }));
        Assert.NotNull(view.Find("[data-testid=preview-empty]"));
    }

    [Fact]
    public void Line_errors_are_listed_with_their_numbers()
    {
        var problem = ApiProblem.FromResponse(400, """
            {"title":"The file has bad lines","status":400,"detail":"line 3: not JSON",
             "errors":[{"line":3,"message":"not JSON"},{"line":1200,"message":"no field \"text\" for the template"}]}
            """);
        var list = Render<LineErrorList>(p => p.Add(c => c.Problem, problem));
        Assert.Equal("The file has bad lines", list.Find("[data-testid=error-title]").TextContent);
        var lines = list.FindAll("[data-testid=error-line]");
        Assert.Equal(["3", "1200"], lines.Select(l => l.GetAttribute("data-line")));
        Assert.Contains("Line 1,200:", lines[1].TextContent);
        Assert.Contains("no field \"text\"", lines[1].TextContent);
    }
}
