"""The upload core and the chunking adapter in-process, two users in two tenants."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.common import factories
from tests.common.dav import DavClient, Multistatus, basic, parse_multistatus, propfind_body
from thvc.accounts.services import Principal
from thvc.app import create_app
from thvc.services import Services
from thvc.settings import Settings

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

UPLOADS = "/remote.php/dav/uploads"
FILES = "/remote.php/dav/files"


class ChunkClient:
    """Requests to ``/remote.php/dav/uploads/{login}/...`` as a sync client sends them."""

    def __init__(self, app: Any, login: str, password: str = factories.PASSWORD) -> None:
        self.client = TestClient(app, raise_server_exceptions=True)
        self.login = login
        self.auth = basic(login, password)

    def url(self, path: str) -> str:
        """``"/tid/00001"`` -> the upload URL; absolute paths are used as they are."""
        if path.startswith("/remote.php/"):
            return path
        return f"{UPLOADS}/{self.login}{path}"

    def destination(self, path: str) -> str:
        return f"http://testserver{FILES}/{self.login}{path}"

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        check: int | None = None,
    ) -> httpx.Response:
        hdrs = {"Authorization": self.auth, **(headers or {})}
        r = self.client.request(method, self.url(path), content=body, headers=hdrs)
        if check is not None:
            shown = f"{r.headers}\n{r.text[:2000]}"
            assert r.status_code == check, (
                f"{method} {path}: expected {check}, got {r.status_code}\n{shown}"
            )
        return r

    def mkcol(self, tid: str, check: int | None = 201, **headers: str) -> httpx.Response:
        return self.request("MKCOL", f"/{tid}", headers=_headers(headers), check=check)

    def put(
        self,
        tid: str,
        chunk: str,
        data: bytes | Iterable[bytes],
        check: int | None = None,
        **headers: str,
    ) -> httpx.Response:
        return self.request("PUT", f"/{tid}/{chunk}", data, _headers(headers), check=check)

    def move(self, tid: str, dst: str, check: int | None = None, **headers: str) -> httpx.Response:
        hdrs = {"Destination": self.destination(dst), **_headers(headers)}
        return self.request("MOVE", f"/{tid}/.file", headers=hdrs, check=check)

    def propfind(
        self, path: str, props: list[str] | None = None, depth: str = "1", check: int = 207
    ) -> Multistatus:
        r = self.request("PROPFIND", path, propfind_body(props), {"Depth": depth}, check=check)
        return parse_multistatus(r.content) if r.status_code == 207 else {}

    def href(self, tid: str, chunk: str = "") -> str:
        return f"{UPLOADS}/{self.login}/{tid}/{chunk}"


def _headers(kw: Mapping[str, str]) -> dict[str, str]:
    # oc_total_length="5" -> OC-Total-Length: 5; if_="..." -> If: ...
    out = {}
    for k, v in kw.items():
        parts = k.rstrip("_").split("_")
        name = "-".join(p.upper() if p in ("oc", "x") else p.title() for p in parts)
        out[name] = v
    return out


@pytest.fixture
def app(settings: Settings, svc: Services) -> Starlette:
    return create_app(settings, svc)


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


@pytest.fixture
def ben(svc: Services) -> Principal:
    return factories.user(svc, "ben@suhl")


@pytest.fixture
def chunks(app: Starlette, anna: Principal) -> ChunkClient:
    return ChunkClient(app, anna.login)


@pytest.fixture
def chunks_ben(app: Starlette, ben: Principal) -> ChunkClient:
    return ChunkClient(app, ben.login)


@pytest.fixture
def dav(app: Starlette, anna: Principal) -> DavClient:
    """Anna's WebDAV client (``/dav/files``: the same tree and core as the clients' URL)."""
    return DavClient(app, anna.login)
