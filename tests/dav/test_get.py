"""GET and HEAD (RFC 9110 §9.3.1-2, §13, §14): ranges, validators, conditional requests."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest

from tests.common import factories
from tests.common.dav import DavClient
from thvc.accounts.services import Principal
from thvc.services import Services

DATA = bytes(range(256)) * 4  # 1024 bytes, each position distinguishable
SIZE = len(DATA)


@pytest.fixture
def f(dav: DavClient, svc: Services, anna: Principal) -> DavClient:
    factories.put(svc, anna, "/f.bin", DATA, content_type="application/x-test")
    return dav


def test_get_returns_content_and_validators(f: DavClient) -> None:
    r = f.get("/f.bin")
    assert r.content == DATA
    assert r.headers["Content-Length"] == str(SIZE)
    assert r.headers["Content-Type"].startswith("application/x-test")
    assert r.headers["ETag"] == f.etag("/f.bin")
    assert r.headers["Accept-Ranges"] == "bytes"
    assert r.headers["OC-Checksum"] == f"SHA256:{hashlib.sha256(DATA).hexdigest()}"
    assert parsedate_to_datetime(r.headers["Last-Modified"]) == parsedate_to_datetime(
        str(f.prop("/f.bin", "{DAV:}getlastmodified"))
    )


def test_get_of_an_empty_file(dav: DavClient) -> None:
    dav.put("/empty", b"", check=201)
    r = dav.get("/empty")
    assert r.content == b""
    assert r.headers["Content-Length"] == "0"


def test_get_of_a_missing_file_is_404(dav: DavClient) -> None:
    dav.get("/missing", check=404)


def test_get_of_a_folder_does_not_fail(dav: DavClient) -> None:
    dav.mkcol("/dir")
    r = dav.get("/dir/", check=200)
    assert r.headers["ETag"] == dav.etag("/dir/")


def test_head_has_the_headers_of_get_but_no_body(f: DavClient) -> None:
    r = f.request("HEAD", "/f.bin", check=200)
    assert r.content == b""
    assert r.headers["Content-Length"] == str(SIZE)
    assert r.headers["ETag"] == f.etag("/f.bin")


# -- Range ---------------------------------------------------------------------


SATISFIABLE = [
    ("bytes=0-99", 0, 100),  # first bytes
    ("bytes=1000-", 1000, SIZE),  # from an offset to the end
    ("bytes=1000-5000", 1000, SIZE),  # last-pos past the end is cut
    (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE),  # the last byte
    ("bytes=-24", SIZE - 24, SIZE),  # suffix
    ("bytes=-5000", 0, SIZE),  # suffix longer than the file: all of it
    ("bytes=300-300", 300, 301),
    ("bytes=0-", 0, SIZE),
]


def test_a_satisfiable_range_gets_206(f: DavClient) -> None:
    for spec, start, end in SATISFIABLE:
        r = f.get("/f.bin", check=206, range=spec)
        assert r.content == DATA[start:end], spec
        assert r.headers["Content-Range"] == f"bytes {start}-{end - 1}/{SIZE}", spec
        assert r.headers["Content-Length"] == str(end - start), spec


def test_a_range_that_spans_segments(dav: DavClient) -> None:
    data = hashlib.sha256(b"seed").digest() * 8192  # 256 KiB, 4+ segments of 64 KiB
    dav.put("/big", data, check=201)
    start, end = 60_000, 200_000
    r = dav.get("/big", check=206, range=f"bytes={start}-{end - 1}")
    assert r.content == data[start:end]


@pytest.mark.parametrize("spec", [f"bytes={SIZE}-", f"bytes={SIZE + 10}-{SIZE + 20}", "bytes=-0"])
def test_an_unsatisfiable_range_gets_416(f: DavClient, spec: str) -> None:
    r = f.get("/f.bin", check=416, range=spec)
    assert r.headers["Content-Range"] == f"bytes */{SIZE}"


def test_a_suffix_range_of_an_empty_file_gets_no_invalid_content_range(dav: DavClient) -> None:
    """An empty file has no byte to name in ``Content-Range: bytes first-last/0``
    (RFC 9110 §14.4), so the answer is the whole (empty) file or 416, never 206."""
    dav.put("/empty", b"", check=201)
    r = dav.get("/empty", check=None, range="bytes=-5")
    assert r.status_code in (200, 416), (r.status_code, r.headers)
    if r.status_code == 416:
        assert r.headers["Content-Range"] == "bytes */0"


def test_a_malformed_range_is_ignored(f: DavClient) -> None:
    for spec in (
        "bytes=abc",
        "items=0-1",
        "bytes=5-2",
        "bytes 0-1",
        "bytes=0",
        "bytes=--1",
        "bytes=",
        "bytes=x-5",
    ):
        r = f.get("/f.bin", check=200, range=spec)
        assert r.content == DATA, spec
        assert "Content-Range" not in r.headers, spec


def test_a_multi_range_may_be_answered_with_everything(f: DavClient) -> None:
    r = f.get("/f.bin", check=None, range="bytes=0-1,5-6")
    assert r.status_code in (200, 206)
    if r.status_code == 200:
        assert r.content == DATA


def test_if_range_with_a_stale_etag_sends_everything(f: DavClient) -> None:
    r = f.get("/f.bin", check=200, range="bytes=0-9", if_range='"stale"')
    assert r.content == DATA
    r = f.get("/f.bin", check=206, range="bytes=0-9", if_range=f.etag("/f.bin"))
    assert r.content == DATA[:10]


def test_head_with_a_range(f: DavClient) -> None:
    r = f.request("HEAD", "/f.bin", headers={"Range": "bytes=0-9"}, check=206)
    assert r.content == b""
    assert r.headers["Content-Length"] == "10"


# -- conditional requests --------------------------------------------------------


def test_if_none_match_with_the_current_etag_is_304(f: DavClient) -> None:
    etag = f.etag("/f.bin")
    r = f.get("/f.bin", check=304, if_none_match=etag)
    assert r.content == b""
    assert r.headers["ETag"] == etag
    f.get("/f.bin", check=304, if_none_match=f'"other", {etag}')
    f.get("/f.bin", check=304, if_none_match="*")
    f.get("/f.bin", check=304, if_none_match=f"W/{etag}")  # weak comparison (§13.1.2)
    f.get("/f.bin", check=200, if_none_match='"other"')


def test_if_match_with_another_etag_is_412(f: DavClient) -> None:
    f.get("/f.bin", check=412, if_match='"other"')
    assert f.get("/f.bin", check=200, if_match=f.etag("/f.bin")).content == DATA
    f.get("/f.bin", check=200, if_match="*")


def test_if_match_fails_after_an_overwrite(f: DavClient) -> None:
    old = f.etag("/f.bin")
    f.put("/f.bin", b"new", check=204)
    f.get("/f.bin", check=412, if_match=old)


def _http(dt: datetime) -> str:
    return format_datetime(dt, usegmt=True)


def test_if_modified_since(f: DavClient) -> None:
    mtime = parsedate_to_datetime(f.get("/f.bin").headers["Last-Modified"])
    f.get("/f.bin", check=304, if_modified_since=_http(mtime))
    f.get("/f.bin", check=304, if_modified_since=_http(mtime + timedelta(hours=1)))
    f.get("/f.bin", check=200, if_modified_since=_http(mtime - timedelta(seconds=1)))
    f.get("/f.bin", check=200, if_modified_since="not a date")


def test_if_none_match_takes_precedence_over_if_modified_since(f: DavClient) -> None:
    # §13.2.2: If-Modified-Since is evaluated only without If-None-Match.
    future = _http(datetime.now(UTC) + timedelta(days=1))
    f.get("/f.bin", check=200, if_none_match='"other"', if_modified_since=future)


def test_if_unmodified_since(f: DavClient) -> None:
    past = _http(datetime(2000, 1, 1, tzinfo=UTC))
    f.get("/f.bin", check=412, if_unmodified_since=past)
    future = _http(datetime.now(UTC) + timedelta(days=1))
    f.get("/f.bin", check=200, if_unmodified_since=future)


def test_x_oc_mtime_is_what_get_reports(dav: DavClient) -> None:
    dav.put("/old.txt", b"x", check=201, x_oc_mtime="1000000000")
    r = dav.get("/old.txt")
    assert parsedate_to_datetime(r.headers["Last-Modified"]) == datetime.fromtimestamp(
        1_000_000_000, UTC
    )
    dav.get("/old.txt", check=304, if_modified_since=_http(datetime(2002, 1, 1, tzinfo=UTC)))
