using Microsoft.AspNetCore.Identity;

namespace AspireBatch.Data.Entities;

/// <summary>A person who signs in to the Dashboard, with one role (<see cref="Contracts.AccountRoles"/>); ASP.NET Core Identity keeps the password hash and lockout.</summary>
public sealed class OperatorAccount : IdentityUser<Guid>
{
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? LastSignInAt { get; set; }
}
