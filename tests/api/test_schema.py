"""Schemathesis against the OpenAPI document: no operation answers any generated request with
a server error, and every answer matches the schema it documents.

One test per operation, each on a fresh database with a tenant admin (carla, who reaches
the member and admin operations; the operator's answer her 403), a small tree and another
user; the operator's operations once more as the operator. The document is loaded from
the API's own ASGI app, which serves it without services. The coverage phase (boundary
values of every parameter) is off: it tripled the time, and the fuzzing phase reaches
the same refusals.

Left out: ``POST /me/password`` (``change_password``). Wrong current passwords are failed
logins: a few of them throttle the account, and every later case would be a 429.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from starlette.exceptions import StarletteDeprecationWarning
from starlette.types import ASGIApp

from tests.api.support import PREFIX
from tests.common import factories
from tests.common.dav import basic, make_tree
from thvc.accounts.models import Role
from thvc.api.app import MAX_BODY, Mounted, build_api, create_api
from thvc.services import Services
from thvc.settings import Settings
from thvc.tenants.models import TenantKind

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    schema = schemathesis.openapi.from_asgi(
        f"{PREFIX}/openapi.json",
        Mounted(build_api(), PREFIX, max_body=MAX_BODY),
        config=schemathesis.config.SchemathesisConfig.from_dict(
            {"phases": {"coverage": {"enabled": False}}}
        ),
    ).exclude(operation_id="change_password")
HYPOTHESIS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    # The database is the fixture's, on purpose shared by one operation's examples.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
    ],
)
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture
def fuzzed(settings: Settings, svc: Services) -> tuple[ASGIApp, dict[str, str]]:
    carla = factories.user(svc, "carla@lauscha", role=Role.TENANT_ADMIN)
    factories.user(svc, "anna@lauscha")
    factories.user(svc, "ben@suhl")
    make_tree(svc, carla, {"Akten/": None, "Akten/a.txt": b"abc", "b.txt": b"b" * 100})
    return create_api(settings, svc), {"Authorization": basic(carla.login, factories.PASSWORD)}


@schema.parametrize()
@HYPOTHESIS
def test_every_operation(case: Any, fuzzed: tuple[ASGIApp, dict[str, str]]) -> None:
    app, auth = fuzzed
    response = case.call(app=app, headers=auth)
    case.validate_response(response, checks=CHECKS)


@pytest.fixture
def fuzzed_by_operator(settings: Settings, svc: Services) -> tuple[ASGIApp, dict[str, str]]:
    factories.tenant(svc, "platform", kind=TenantKind.PLATFORM)
    root = factories.user(svc, "root@platform", role=Role.OPERATOR)
    factories.user(svc, "anna@lauscha")
    return create_api(settings, svc), {"Authorization": basic(root.login, factories.PASSWORD)}


@schema.include(tag="operator").parametrize()
@HYPOTHESIS
def test_the_operators_operations(
    case: Any, fuzzed_by_operator: tuple[ASGIApp, dict[str, str]]
) -> None:
    app, auth = fuzzed_by_operator
    response = case.call(app=app, headers=auth)
    case.validate_response(response, checks=CHECKS)
