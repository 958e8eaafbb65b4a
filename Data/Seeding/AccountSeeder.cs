using AspireBatch.Contracts;
using AspireBatch.Data.Entities;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Logging;

namespace AspireBatch.Data.Seeding;

/// <summary>
/// The roles, and the first admin from the AppHost's parameters. The admin is created once: after that its password
/// is changed on the Users page, and a later start does not reset it. The parameter's password is taken as given
/// (a development default like "operator" is shorter than Identity's rules); accounts made later follow the rules.
/// </summary>
public sealed class AccountSeeder(UserManager<OperatorAccount> users, RoleManager<IdentityRole<Guid>> roles, TimeProvider time, ILogger<AccountSeeder> logger)
{
    public async Task SeedAsync(SeedAdmin? admin, CancellationToken cancellationToken)
    {
        foreach (var role in AccountRoles.All)
        {
            if (!await roles.RoleExistsAsync(role))
            {
                Check(await roles.CreateAsync(new IdentityRole<Guid>(role) { Id = Guid.CreateVersion7() }), $"role {role}");
            }
        }
        if (admin is null || string.IsNullOrWhiteSpace(admin.User) || string.IsNullOrEmpty(admin.Password))
        {
            return;
        }
        cancellationToken.ThrowIfCancellationRequested();
        if (await users.FindByNameAsync(admin.User) is not null)
        {
            return;
        }
        var account = new OperatorAccount { Id = Guid.CreateVersion7(), UserName = admin.User, CreatedAt = time.GetUtcNow() };
        account.PasswordHash = users.PasswordHasher.HashPassword(account, admin.Password);
        Check(await users.CreateAsync(account), $"account {admin.User}");
        Check(await users.AddToRoleAsync(account, AccountRoles.Admin), $"role of {admin.User}");
        logger.LogInformation("Created the first admin account {User}", admin.User);
    }

    private static void Check(IdentityResult result, string what)
    {
        if (!result.Succeeded)
        {
            throw new InvalidOperationException($"Could not create {what}: {string.Join("; ", result.Errors.Select(e => e.Description))}");
        }
    }
}
