using AspireBatch.Contracts;
using AspireBatch.Data.Entities;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace AspireBatch.Api.Services.Access;

/// <summary>Operator accounts as the Users page and /api/users see them: created, re-roled, locked, given a new password, deleted.</summary>
public sealed class AccountStore(UserManager<OperatorAccount> users, TimeProvider time)
{
    public async Task<IReadOnlyList<AccountDto>> ListAsync(CancellationToken cancellationToken)
    {
        var accounts = await users.Users.AsNoTracking().OrderBy(a => a.UserName).ToListAsync(cancellationToken);
        var list = new List<AccountDto>(accounts.Count);
        foreach (var account in accounts)
        {
            list.Add(await ToDtoAsync(account));
        }
        return list;
    }

    public async Task<AccountDto?> GetAsync(Guid id) => await users.FindByIdAsync(id.ToString()) is { } account ? await ToDtoAsync(account) : null;

    /// <summary>The account, or the reasons it was refused (Identity's password rules, a taken name, an unknown role).</summary>
    public async Task<(AccountDto? Account, IReadOnlyList<string> Errors)> CreateAsync(CreateAccountRequest request)
    {
        if (RoleError(request.Role) is { } roleError)
        {
            return (null, [roleError]);
        }
        if (string.IsNullOrWhiteSpace(request.UserName))
        {
            return (null, ["userName is required"]);
        }
        var account = new OperatorAccount { Id = Guid.CreateVersion7(), UserName = request.UserName.Trim(), CreatedAt = time.GetUtcNow() };
        var created = await users.CreateAsync(account, request.Password ?? "");
        if (!created.Succeeded)
        {
            return (null, Describe(created));
        }
        await users.AddToRoleAsync(account, request.Role);
        return (await ToDtoAsync(account), []);
    }

    /// <summary>Null when there is no such account; the errors when the change was refused (it then changes nothing).</summary>
    public async Task<(AccountDto? Account, IReadOnlyList<string> Errors)?> UpdateAsync(Guid id, UpdateAccountRequest request, Guid? caller)
    {
        if (await users.FindByIdAsync(id.ToString()) is not { } account)
        {
            return null;
        }
        if (request.Role is { } role && RoleError(role) is { } roleError)
        {
            return (null, [roleError]);
        }
        var losesAdmin = (request.Role is { } newRole && newRole != AccountRoles.Admin) || request.Locked == true;
        if (losesAdmin && await users.IsInRoleAsync(account, AccountRoles.Admin) && await IsLastAdminAsync(account))
        {
            return (null, ["the last admin cannot be re-roled or locked: make another admin first"]);
        }
        if (request.Locked == true && caller == account.Id)
        {
            return (null, ["you cannot lock your own account"]);
        }
        if (request.Password is { } password)
        {
            foreach (var validator in users.PasswordValidators)
            {
                if (await validator.ValidateAsync(users, account, password) is { Succeeded: false } invalid)
                {
                    return (null, Describe(invalid));
                }
            }
            // A new password gives a new security stamp: the account's earlier sign-ins end.
            await users.RemovePasswordAsync(account);
            await users.AddPasswordAsync(account, password);
        }
        if (request.Role is { } changed)
        {
            await users.RemoveFromRolesAsync(account, await users.GetRolesAsync(account));
            await users.AddToRoleAsync(account, changed);
        }
        if (request.Locked is { } locked)
        {
            await users.SetLockoutEndDateAsync(account, locked ? DateTimeOffset.MaxValue : null);
            await users.ResetAccessFailedCountAsync(account);
        }
        return (await ToDtoAsync(account), []);
    }

    public async Task<(bool Found, string? Error)> DeleteAsync(Guid id, Guid? caller)
    {
        if (await users.FindByIdAsync(id.ToString()) is not { } account)
        {
            return (false, null);
        }
        if (caller == account.Id)
        {
            return (true, "you cannot delete your own account");
        }
        if (await users.IsInRoleAsync(account, AccountRoles.Admin) && await IsLastAdminAsync(account))
        {
            return (true, "the last admin cannot be deleted: make another admin first");
        }
        await users.DeleteAsync(account);
        return (true, null);
    }

    public async Task<AccountDto> ToDtoAsync(OperatorAccount account)
    {
        var role = (await users.GetRolesAsync(account)).FirstOrDefault() ?? AccountRoles.Viewer;
        var lockedUntil = account.LockoutEnd is { } end && end > time.GetUtcNow() ? end : (DateTimeOffset?)null;
        return new AccountDto(account.Id, account.UserName!, role, account.CreatedAt, account.LastSignInAt, lockedUntil);
    }

    private async Task<bool> IsLastAdminAsync(OperatorAccount account) =>
        (await users.GetUsersInRoleAsync(AccountRoles.Admin)).Count(a => a.Id != account.Id && !(a.LockoutEnd > time.GetUtcNow())) == 0;

    private static string? RoleError(string? role) =>
        role is not null && AccountRoles.All.Contains(role) ? null : $"role must be one of {string.Join(", ", AccountRoles.All)}";

    private static IReadOnlyList<string> Describe(IdentityResult result) => [.. result.Errors.Select(e => e.Description)];
}
