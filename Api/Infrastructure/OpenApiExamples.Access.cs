using System.Text.Json;
using AspireBatch.Contracts;

namespace AspireBatch.Api.Infrastructure;

// The story's operator on call: mina rolled route "reviews" back to OpenAI when DeepSeek slowed down.
internal sealed partial class OpenApiExamples
{
    private static AccountDto Account() => new(Guid.Parse("019ad9c1-2f00-7a10-8b20-3c4d5e6f7a8b"), "mina", AccountRoles.Operator,
        CreatedAt.AddDays(-30), CreatedAt.AddMinutes(38), null);

    private static AuditEntryDto AuditEntry() => new(4_812, CreatedAt.AddMinutes(41), "user mina", ApiScopes.AdminTeam, "RollbackRoute", "route", RouteId.ToString(),
        JsonSerializer.SerializeToElement(new { activeTargetPosition = 0 }), JsonSerializer.SerializeToElement(new { activeTargetPosition = 1 }));
}
