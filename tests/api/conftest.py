"""The JSON API in-process (``create_api``, as ``thvc.app`` mounts it), users in two tenants,
an admin of one, the operator, and a client for each."""

from __future__ import annotations

import pytest
from starlette.types import ASGIApp

from tests.api.support import Api
from tests.common import factories
from tests.common.dav import skip_fsync, use_cheap_password_hashing
from thvc.accounts.models import Role
from thvc.accounts.services import Principal
from thvc.api.app import create_api
from thvc.services import Services
from thvc.settings import Settings
from thvc.tenants.models import TenantKind


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch, svc: Services) -> None:
    use_cheap_password_hashing(monkeypatch)
    skip_fsync(monkeypatch, svc.db.engine)


@pytest.fixture
def app(settings: Settings, svc: Services) -> ASGIApp:
    return create_api(settings, svc)


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


@pytest.fixture
def ben(svc: Services) -> Principal:
    return factories.user(svc, "ben@suhl")


@pytest.fixture
def carla(svc: Services, anna: Principal) -> Principal:
    """anna's tenant's admin."""
    return factories.user(svc, "carla@lauscha", role=Role.TENANT_ADMIN)


@pytest.fixture
def root(svc: Services) -> Principal:
    factories.tenant(svc, "platform", kind=TenantKind.PLATFORM)
    return factories.user(svc, "root@platform", role=Role.OPERATOR)


@pytest.fixture
def api(app: ASGIApp, anna: Principal) -> Api:
    return Api(app, anna.login)


@pytest.fixture
def api_ben(app: ASGIApp, ben: Principal) -> Api:
    return Api(app, ben.login)


@pytest.fixture
def api_carla(app: ASGIApp, carla: Principal) -> Api:
    return Api(app, carla.login)


@pytest.fixture
def api_root(app: ASGIApp, root: Principal) -> Api:
    return Api(app, root.login)


@pytest.fixture
def anonymous(app: ASGIApp) -> Api:
    return Api(app)
