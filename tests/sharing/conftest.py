"""Owner, recipients with every permission set, strangers and a guest, in-process."""

from __future__ import annotations

import pytest
from starlette.types import ASGIApp

from tests.common.dav import skip_fsync, use_cheap_password_hashing
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
