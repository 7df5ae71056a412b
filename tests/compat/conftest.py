"""The compat API in-process: the app, a test client, and two users in two tenants."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette prefers the httpx2 package and warns when it falls back to httpx.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from tests.common import factories
from thvc.accounts.services import Principal
from thvc.app import create_app
from thvc.services import Services
from thvc.settings import Settings


@pytest.fixture
def app(settings: Settings, svc: Services) -> Starlette:
    return create_app(settings, svc)


@pytest.fixture
def client(app: Starlette) -> Any:
    return TestClient(app, raise_server_exceptions=True)


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


@pytest.fixture
def ben(svc: Services) -> Principal:
    return factories.user(svc, "ben@suhl")
