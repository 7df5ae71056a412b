"""Link pages and public WebDAV in-process: anna shares a folder tree, visitors come."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from starlette.types import ASGIApp

from tests.common import factories
from tests.common.dav import make_tree, skip_fsync, use_cheap_password_hashing
from thvc.accounts.services import Principal
from thvc.app import create_app
from thvc.services import Services
from thvc.settings import Settings
from thvc.sharing.models import Link
from thvc.sharing.services import LinkInfo

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

# A tree with names from several scripts, an empty file, an empty folder and a file
# larger than one segment (64 KiB in the tests' settings).
BIG = bytes(range(256)) * 1200  # 307,200 bytes
TREE: dict[str, bytes | None] = {
    "Akten/": None,
    "Akten/Haushalt 2026.txt": b"Haushalt 2026\n" * 50,
    "Akten/leer.txt": b"",
    "Akten/gross.bin": BIG,
    "Akten/Übersicht/": None,
    "Akten/Übersicht/Straße & Brücke.csv": "a;b\nä;ö\n".encode(),
    "Akten/Übersicht/Σχέδια.md": "# Σχέδια\n".encode(),
    "Akten/leerer Ordner/": None,
    "Einzeln.pdf": b"%PDF-1.4 einzeln\n" * 10,
    "Eingang/": None,
    "Eingang/schon da.txt": b"old\n",
}


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch, svc: Services) -> None:
    use_cheap_password_hashing(monkeypatch)
    skip_fsync(monkeypatch, svc.db.engine)


@pytest.fixture
def app(settings: Settings, svc: Services) -> ASGIApp:
    return create_app(settings, svc)


@pytest.fixture
def anna(svc: Services) -> Principal:
    who = factories.user(svc, "anna@lauscha")
    make_tree(svc, who, TREE)
    return who


@pytest.fixture
def client(app: ASGIApp) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=True, follow_redirects=False) as c:
        yield c


def link(svc: Services, who: Principal, path: str, **kw: Any) -> LinkInfo:
    return svc.sharing.create_link(who, factories.loc(svc, who, path), **kw)


def set_link(svc: Services, link_id: int, **values: Any) -> None:
    """Change a link's row directly (an expiry in the past, a used-up count)."""
    with svc.db.write() as s:
        row = s.get_one(Link, link_id)
        for k, v in values.items():
            setattr(row, k, v)
