"""MKCOL (RFC 4918 §9.3)."""

from __future__ import annotations

from tests.common.dav import DavClient


def test_mkcol_creates_a_folder(dav: DavClient) -> None:
    r = dav.mkcol("/dir")
    assert r.headers["OC-FileId"].endswith("thvc")
    assert dav.children("/") == {"dir"}
    assert dav.children("/dir/") == set()


def test_mkcol_with_a_trailing_slash(dav: DavClient) -> None:
    dav.mkcol("/dir/")
    dav.put("/dir/a.txt", b"x", check=201)


def test_mkcol_again_is_not_allowed(dav: DavClient) -> None:
    dav.mkcol("/dir")
    dav.mkcol("/dir", check=405)
    dav.put("/file", b"x", check=201)
    dav.mkcol("/file", check=405)
    assert dav.get("/file").content == b"x"


def test_mkcol_of_the_root_is_not_allowed(dav: DavClient) -> None:
    dav.mkcol("/", check=405)


def test_mkcol_without_a_parent_is_a_conflict(dav: DavClient) -> None:
    dav.mkcol("/a/b", check=409)
    dav.put("/file", b"x", check=201)
    dav.mkcol("/file/sub", check=409)


def test_mkcol_with_a_body_is_unsupported_media_type(dav: DavClient) -> None:
    dav.request("MKCOL", "/dir", b"<x/>", {"Content-Type": "application/xml"}, check=415)
    dav.propfind("/dir/", depth="0", check=404)


def test_mkcol_deep(dav: DavClient) -> None:
    path = ""
    for i in range(20):
        path += f"/d{i}"
        dav.mkcol(path)
    dav.put(path + "/leaf.txt", b"leaf", check=201)
    assert dav.get(path + "/leaf.txt").content == b"leaf"
    assert dav.prop("/d0/", "{http://owncloud.org/ns}size") == "4"
