"""Who may administer what: the checks every adapter calls before an administrative change.

Many account and tenant methods take ``actor`` as a plain login for the audit
trail and do not know who is asking. The web console and the JSON API call
these checks first, with the asking principal, so both refuse the same things:

- the platform operator may administer every tenant;
- a tenant admin administers their own tenant (its users, groups, guests,
  policy, audit trail) and nothing else;
- everyone else administers nothing.

Each raises :class:`thvc.errors.Forbidden`; nothing is read from the database:
a principal's login is ``name@tenant-slug`` and tenant slugs never change.
"""

from __future__ import annotations

from thvc.accounts.models import Role
from thvc.accounts.services import Principal, split_login
from thvc.errors import Forbidden


class NotOperator(Forbidden):
    """Only the platform operator may do this."""


class NotTenantAdmin(Forbidden):
    """Only an admin of this tenant (or the platform operator) may do this."""


def tenant_slug_of(principal: Principal) -> str:
    """The slug of the principal's own tenant."""
    return principal.login.rpartition("@")[2]


def require_operator(principal: Principal) -> None:
    """The platform operator only (tenants, their quotas, usage of all)."""
    if principal.role is not Role.OPERATOR:
        raise NotOperator("only the platform operator may do this")


def is_tenant_admin(principal: Principal, tenant: int | str) -> bool:
    """May ``principal`` administer ``tenant`` (its id or its slug)?"""
    if principal.role is Role.OPERATOR:
        return True
    if principal.role is not Role.TENANT_ADMIN:
        return False
    if isinstance(tenant, int):
        return tenant == principal.tenant_id
    return tenant.strip().lower() == tenant_slug_of(principal)


def require_tenant_admin(principal: Principal, tenant: int | str) -> None:
    """The operator, or an admin of ``tenant`` (its id or its slug)."""
    if not is_tenant_admin(principal, tenant):
        raise NotTenantAdmin(f"only an admin of this tenant may do this, not {principal.login}")


def require_user_admin(principal: Principal, login: str, *, not_self: bool = False) -> None:
    """The operator, or an admin of the tenant ``login`` belongs to.

    ``not_self``: also refuse the principal's own account (disabling or deleting
    oneself would lock the tenant out of its own administration).
    """
    _, slug = split_login(login)
    require_tenant_admin(principal, slug)
    if not_self and login.strip().lower() == principal.login:
        raise NotTenantAdmin("you cannot do this to your own account")


def require_may_grant(principal: Principal, role: Role) -> None:
    """Only the operator makes operators; a tenant admin makes members, admins, guests."""
    if role is Role.OPERATOR:
        require_operator(principal)
    elif principal.role not in (Role.OPERATOR, Role.TENANT_ADMIN):
        raise NotTenantAdmin("only an admin may create accounts")
