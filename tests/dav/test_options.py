"""OPTIONS (RFC 4918 §10.1) and methods the server does not implement."""

from __future__ import annotations

import pytest

from tests.common.dav import DavClient

METHODS = {"OPTIONS", "GET", "HEAD", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "MKCOL", "COPY"}


def _allow(value: str) -> set[str]:
    return {m.strip() for m in value.split(",")}


@pytest.mark.parametrize("path", ["/", "/missing.txt"])
def test_options_announces_class_1_and_every_method(dav: DavClient, path: str) -> None:
    r = dav.request("OPTIONS", path, check=200)
    assert "1" in [c.strip() for c in r.headers["DAV"].split(",")]
    assert _allow(r.headers["Allow"]) >= METHODS | {"MOVE"}
    assert r.content == b""


def test_options_on_a_file(dav: DavClient) -> None:
    dav.put("/a.txt", b"x", check=201)
    r = dav.request("OPTIONS", "/a.txt", check=200)
    assert "PUT" in _allow(r.headers["Allow"])
    assert r.headers["Accept-Ranges"] == "bytes"


def test_options_on_the_collection_of_users(dav: DavClient) -> None:
    r = dav.request("OPTIONS", "/dav/files/", check=200)
    assert r.headers["DAV"].startswith("1")


def test_unknown_method_is_not_implemented(dav: DavClient) -> None:
    r = dav.request("PATCH", "/a.txt", check=501)
    assert "PROPFIND" in _allow(r.headers["Allow"])
