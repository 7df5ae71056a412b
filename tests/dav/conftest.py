"""The WebDAV app in-process, two users in two tenants, and a client for each."""

from __future__ import annotations

import pytest
from starlette.types import ASGIApp

from tests.common import factories
from tests.common.dav import DavClient, skip_fsync, use_cheap_password_hashing
from thvc.accounts.services import Principal
from thvc.app import create_app
from thvc.services import Services
from thvc.settings import Settings


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch, svc: Services) -> None:
    use_cheap_password_hashing(monkeypatch)
    skip_fsync(monkeypatch, svc.db.engine)


@pytest.fixture
def app(settings: Settings, svc: Services) -> ASGIApp:
    return create_app(settings, svc)


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


@pytest.fixture
def ben(svc: Services) -> Principal:
    return factories.user(svc, "ben@suhl")


@pytest.fixture
def dav(app: ASGIApp, anna: Principal) -> DavClient:
    return DavClient(app, anna.login)


@pytest.fixture
def dav_ben(app: ASGIApp, ben: Principal) -> DavClient:
    return DavClient(app, ben.login)
