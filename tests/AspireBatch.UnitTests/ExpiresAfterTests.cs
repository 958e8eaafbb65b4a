using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using AspireBatch.Api.Services.OpenAi;
using AspireBatch.Worker.Retention;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace AspireBatch.UnitTests;

/// <summary>OpenAI's file expiration policy as an upload's form fields and a batch's JSON, and the sweeper's options.</summary>
public sealed class ExpiresAfterTests
{
    private static IFormCollection Form(params (string Key, string Value)[] fields) =>
        new FormCollection(fields.ToDictionary(f => f.Key, f => new StringValues(f.Value)));

    [Theory]
    [InlineData("3600", 3600)]
    [InlineData("2592000", 2_592_000)]
    public void A_form_policy_within_openais_bounds_is_taken(string seconds, int expected)
    {
        Assert.Null(ExpiresAfter.FromForm(Form(("expires_after[anchor]", "created_at"), ("expires_after[seconds]", seconds)), out var parsed));
        Assert.Equal(expected, parsed);
    }

    [Fact]
    public void A_form_without_a_policy_has_none() => Assert.True(ExpiresAfter.FromForm(Form(("purpose", "batch")), out var seconds) is null && seconds is null);

    [Theory]
    [InlineData("created_at", "3599", "expires_after.seconds")]
    [InlineData("created_at", "2592001", "expires_after.seconds")]
    [InlineData("created_at", "1.5", "expires_after.seconds")]
    [InlineData("created_at", "", "expires_after.seconds")]
    [InlineData("", "3600", "expires_after.anchor")]
    [InlineData("updated_at", "3600", "expires_after.anchor")]
    public void A_bad_form_policy_is_refused_naming_the_field(string anchor, string seconds, string param)
    {
        var failure = ExpiresAfter.FromForm(Form(("expires_after[anchor]", anchor), ("expires_after[seconds]", seconds)), out _);
        Assert.Equal((400, "invalid_request_error", param), (failure!.StatusCode, failure.Type, failure.Param));
    }

    [Fact]
    public void A_policy_sent_as_one_field_is_refused() =>
        Assert.Equal("expires_after", ExpiresAfter.FromForm(Form(("expires_after", """{"anchor":"created_at","seconds":3600}""")), out _)!.Param);

    [Theory]
    [InlineData("""{"output_expires_after":{"anchor":"created_at","seconds":86400}}""", 86_400, null)]
    [InlineData("""{"output_expires_after":null}""", null, null)]
    [InlineData("""{}""", null, null)]
    [InlineData("""{"output_expires_after":{"anchor":"created_at","seconds":3599}}""", null, "output_expires_after.seconds")]
    [InlineData("""{"output_expires_after":{"anchor":"created_at","seconds":3600.5}}""", null, "output_expires_after.seconds")]
    [InlineData("""{"output_expires_after":{"anchor":"created_at","seconds":"3600"}}""", null, "output_expires_after.seconds")]
    [InlineData("""{"output_expires_after":{"anchor":"created_at"}}""", null, "output_expires_after.seconds")]
    [InlineData("""{"output_expires_after":{"seconds":3600}}""", null, "output_expires_after.anchor")]
    [InlineData("""{"output_expires_after":{"anchor":1,"seconds":3600}}""", null, "output_expires_after.anchor")]
    [InlineData("""{"output_expires_after":3600}""", null, "output_expires_after")]
    public void A_batchs_output_policy_is_read_or_refused(string json, int? expected, string? param)
    {
        using var body = JsonDocument.Parse(json);
        var failure = ExpiresAfter.FromJson(body.RootElement, "output_expires_after", out var seconds);
        Assert.Equal(param, failure?.Param);
        Assert.Equal(expected, seconds);
    }

    [Fact]
    public void Expiry_is_the_anchor_plus_the_seconds()
    {
        var created = new DateTimeOffset(2026, 12, 1, 9, 30, 0, 250, TimeSpan.Zero);
        Assert.Equal(created.AddHours(1), ExpiresAfter.At(created, 3600));
        Assert.Null(ExpiresAfter.At(created, null));
    }

    [Theory]
    [InlineData("00:01:00", true)]
    [InlineData("00:00:01", true)]
    [InlineData("00:00:00", false)]
    [InlineData("2.00:00:00", false)]
    public void The_sweep_interval_is_validated(string interval, bool valid)
    {
        var options = new RetentionOptions { SweepInterval = TimeSpan.Parse(interval, System.Globalization.CultureInfo.InvariantCulture) };
        Assert.Equal(valid, Validator.TryValidateObject(options, new ValidationContext(options), null, validateAllProperties: true));
    }
}
