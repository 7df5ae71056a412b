"""A client for the JSON API in-process: one per user, with a ``check`` on each request."""

from __future__ import annotations

import warnings
from typing import Any

import httpx
from starlette.exceptions import StarletteDeprecationWarning
from starlette.types import ASGIApp

from tests.common.factories import PASSWORD

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

PREFIX = "/api/v1"
PROBLEM = "application/problem+json"


class Api:
    """``api.get("/me", check=200)``: the request through the ASGI app, its status asserted
    (the body shown when it does not match); ``check=None`` asserts nothing."""

    def __init__(
        self,
        app: ASGIApp,
        login: str | None = None,
        password: str = PASSWORD,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.client = TestClient(app, raise_server_exceptions=True, follow_redirects=False)
        self.auth = (login, password) if login is not None else None
        self.headers = headers or {}

    def request(
        self, method: str, path: str, *, check: int | None = 200, **kw: Any
    ) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        r = self.client.request(method, PREFIX + path, auth=self.auth, headers=headers, **kw)
        if check is not None:
            assert r.status_code == check, f"{method} {path}: {r.status_code}\n{r.text[:2000]}"
        return r

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a paged list, following ``next_cursor``."""
        out: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = {**params, **({"cursor": cursor} if cursor else {})}
            page = self.get(path, params=query).json()
            out += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return out


def problem_of(r: httpx.Response, status: int, kind: str | None = None) -> dict[str, Any]:
    """The RFC 9457 body of an error answer, its required members checked."""
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers
    body: dict[str, Any] = r.json()
    assert body["status"] == status
    assert body["title"] and body["detail"] and body["instance"].startswith(PREFIX)
    if kind is not None:
        assert body["type"] == f"https://thvc.invalid/problems/{kind}", body
    return body
