"""Names and paths over HTTP (§5): refused with 400, never followed out of the tree."""

from __future__ import annotations

import unicodedata
from urllib.parse import quote

import pytest

from tests.common.dav import DavClient

BAD_SEGMENTS = [
    "%2e%2e",
    "%2E%2E",
    "%2e",
    "a%2fb",
    "a%2Fb",
    "a%5cb",  # backslash
    "a%00b",
    "%00",
    "a%01b",
    "a%0ab",
    "a%0db",
    "a%7fb",
    "a%ffb",  # not UTF-8
    "x" * 256,
    quote("ä" * 128),  # 256 bytes in UTF-8
]


@pytest.mark.parametrize("segment", BAD_SEGMENTS)
def test_a_bad_name_is_a_bad_request(dav: DavClient, segment: str) -> None:
    for method in ("PUT", "GET", "PROPFIND", "MKCOL", "DELETE", "PROPPATCH"):
        dav.request(method, f"/{segment}", b"x" if method == "PUT" else None, check=400)
        dav.request(method, f"/ok/{segment}/below", check=400)
    assert dav.children("/") == set()


@pytest.mark.parametrize("segment", ["%2e%2e", "a%2fb", "%00"])
def test_a_bad_name_in_a_destination_is_a_bad_request(dav: DavClient, segment: str) -> None:
    dav.put("/f.txt", b"x", check=201)
    dav.move("/f.txt", f"/{segment}", check=400)
    dav.copy("/f.txt", f"/{segment}/g.txt", check=400)
    assert dav.get("/f.txt").content == b"x"


def test_dot_dot_never_reaches_another_users_tree(dav: DavClient, dav_ben: DavClient) -> None:
    dav_ben.put("/ben.txt", b"ben's", check=201)
    for path in (
        "/%2e%2e/ben@suhl/ben.txt",
        "/x/%2e%2e/%2e%2e/ben@suhl/ben.txt",
        "/%2e%2e%2fben@suhl%2fben.txt",
        "/..%2fben@suhl/ben.txt",
    ):
        r = dav.request("GET", path, check=None)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert b"ben's" not in r.content
    r = dav.request("GET", "/dav/files/%2e%2e/ben@suhl/ben.txt", check=None)
    assert r.status_code in (400, 404)


def test_a_login_segment_with_a_bad_name_is_a_bad_request(dav: DavClient) -> None:
    dav.request("PROPFIND", "/dav/files/%2e%2e/", headers={"Depth": "0"}, check=400)


def test_a_255_byte_name_is_fine(dav: DavClient) -> None:
    for name in ("y" * 255, "ä" * 127 + "z"):
        assert len(name.encode()) == 255
        dav.put("/" + quote(name), b"x", check=201)
        assert dav.get("/" + quote(name)).content == b"x"
    assert dav.children("/") == {"y" * 255, "ä" * 127 + "z"}


LEGAL = ["a b", "100%", "#hash", "?q", "a+b", "日本語", "emoji 🎉", "a;b=c", "~tilde", "'quote\""]


def test_unusual_but_legal_names(dav: DavClient) -> None:
    for name in LEGAL:
        dav.put("/" + quote(name, safe=""), name.encode(), check=201)
        assert dav.get("/" + quote(name, safe="")).content == name.encode(), name
    assert dav.children("/") == set(LEGAL)


def test_nfd_and_nfc_name_the_same_file(dav: DavClient) -> None:
    nfd = unicodedata.normalize("NFD", "Café-Übersicht.txt")
    nfc = unicodedata.normalize("NFC", nfd)
    assert nfd != nfc
    dav.put("/" + quote(nfd), b"one", check=201)
    assert dav.get("/" + quote(nfc)).content == b"one"
    dav.put("/" + quote(nfc), b"two", check=204)
    assert dav.get("/" + quote(nfd)).content == b"two"
    # Listed once, under the NFC name.
    assert dav.children("/") == {nfc}


def test_nfd_folder_names(dav: DavClient) -> None:
    nfd = unicodedata.normalize("NFD", "Ördner")
    dav.mkcol("/" + quote(nfd))
    dav.mkcol("/" + quote(unicodedata.normalize("NFC", nfd)), check=405)


def test_empty_segments_are_ignored(dav: DavClient) -> None:
    dav.mkcol("/dir")
    dav.put("/dir//a.txt", b"x", check=201)
    assert dav.get("/dir/a.txt").content == b"x"
