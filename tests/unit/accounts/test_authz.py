"""accounts.authz: who may administer what (the checks the web console and the API share)."""

from __future__ import annotations

import pytest

from thvc.accounts import authz
from thvc.accounts.models import Role
from thvc.accounts.services import Principal
from thvc.errors import BadRequest, Forbidden


def who(login: str, role: Role, tenant_id: int = 1) -> Principal:
    return Principal(7, login, tenant_id, role, login)


OPERATOR = who("admin@platform", Role.OPERATOR, 99)
CHEF = who("chef@lauscha", Role.TENANT_ADMIN, 1)
ANNA = who("anna@lauscha", Role.MEMBER, 1)
GAST = who("gast.x@lauscha", Role.GUEST, 1)


def test_only_the_operator_passes_require_operator() -> None:
    authz.require_operator(OPERATOR)
    for p in (CHEF, ANNA, GAST):
        with pytest.raises(Forbidden):
            authz.require_operator(p)


@pytest.mark.parametrize("tenant", ["lauscha", " Lauscha ", 1])
def test_a_tenant_admin_administers_their_own_tenant(tenant: int | str) -> None:
    authz.require_tenant_admin(CHEF, tenant)
    authz.require_tenant_admin(OPERATOR, tenant)
    for p in (ANNA, GAST):
        with pytest.raises(Forbidden):
            authz.require_tenant_admin(p, tenant)


@pytest.mark.parametrize("tenant", ["suhl", 2, "lauscha2"])
def test_and_no_other(tenant: int | str) -> None:
    with pytest.raises(Forbidden):
        authz.require_tenant_admin(CHEF, tenant)
    authz.require_tenant_admin(OPERATOR, tenant)


def test_user_administration_follows_the_login_s_tenant() -> None:
    authz.require_user_admin(CHEF, "anna@lauscha")
    authz.require_user_admin(OPERATOR, "anna@lauscha")
    with pytest.raises(Forbidden):
        authz.require_user_admin(CHEF, "bert@suhl")
    with pytest.raises(Forbidden):
        authz.require_user_admin(ANNA, "anna@lauscha")
    with pytest.raises(Forbidden):
        authz.require_user_admin(CHEF, "Chef@Lauscha", not_self=True)
    authz.require_user_admin(CHEF, "chef@lauscha")
    with pytest.raises(BadRequest):
        authz.require_user_admin(CHEF, "no-at-sign")


def test_only_the_operator_makes_operators() -> None:
    authz.require_may_grant(OPERATOR, Role.OPERATOR)
    for role in (Role.MEMBER, Role.TENANT_ADMIN, Role.GUEST):
        authz.require_may_grant(CHEF, role)
        with pytest.raises(Forbidden):
            authz.require_may_grant(ANNA, role)
    with pytest.raises(Forbidden):
        authz.require_may_grant(CHEF, Role.OPERATOR)
