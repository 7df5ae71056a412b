"""PUT (RFC 9110 §9.3.4): create and overwrite, conditions, mtime, checksums, refusals."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from starlette.types import ASGIApp

from tests.common import factories
from tests.common.dav import OC_NS, DavClient
from thvc.accounts.services import Principal
from thvc.files.models import SpaceRole
from thvc.services import Services


def blob_files(svc: Services) -> set[Path]:
    root = svc.blobs.root
    return {
        Path(d) / n
        for d, _, names in os.walk(root)
        for n in names
        if ".tmp" not in Path(d).relative_to(root).parts
    }


def temp_files(svc: Services) -> list[str]:
    tmp = svc.blobs.root / ".tmp"
    return os.listdir(tmp) if tmp.exists() else []


def test_put_creates_then_overwrites(dav: DavClient) -> None:
    r = dav.put("/a.txt", b"first", check=201)
    first = r.headers["ETag"]
    assert first == dav.etag("/a.txt")
    r = dav.put("/a.txt", b"second", check=204)
    assert r.headers["ETag"] != first
    assert r.headers["ETag"] == dav.etag("/a.txt")
    assert dav.get("/a.txt").content == b"second"


def test_put_keeps_the_file_id(dav: DavClient) -> None:
    r = dav.put("/a.txt", b"first", check=201)
    fileid = dav.fileid("/a.txt")
    assert r.headers["OC-FileId"].startswith(fileid.zfill(8))
    dav.put("/a.txt", b"second", check=204)
    assert dav.fileid("/a.txt") == fileid


def test_put_of_an_empty_body(dav: DavClient) -> None:
    dav.put("/empty", b"", check=201)
    assert dav.prop("/empty", "{DAV:}getcontentlength") == "0"


def test_put_in_a_subfolder(dav: DavClient) -> None:
    dav.mkcol("/dir")
    dav.put("/dir/a.txt", b"x", check=201)
    assert dav.children("/dir/") == {"a.txt"}


def test_put_of_a_streamed_body_without_length(dav: DavClient) -> None:
    def chunks() -> Iterator[bytes]:
        for i in range(5):
            yield bytes([i]) * 100_000

    r = dav.client.request(
        "PUT",
        dav.url("/streamed"),
        content=chunks(),
        headers={"Authorization": dav.request("OPTIONS", "/").request.headers["Authorization"]},
    )
    assert r.status_code == 201, r.text
    assert dav.get("/streamed").content == b"".join(chunks())


def test_put_stores_the_content_type(dav: DavClient) -> None:
    dav.put("/page.html", b"<p>", check=201, content_type="text/html; charset=utf-8")
    assert dav.prop("/page.html", "{DAV:}getcontenttype") == "text/html; charset=utf-8"


def test_a_missing_parent_is_a_conflict(dav: DavClient, svc: Services) -> None:
    dav.put("/no/such/dir/a.txt", b"x", check=409)
    dav.put("/file", b"x", check=201)
    before = blob_files(svc)
    dav.put("/file/child", b"x", check=409)  # the parent is a file
    assert blob_files(svc) == before


def test_put_on_a_folder_is_not_allowed(dav: DavClient) -> None:
    dav.mkcol("/dir")
    dav.put("/dir", b"x", check=405)
    dav.put("/dir/", b"x", check=405)
    dav.put("/", b"x", check=405)


# -- conditions --------------------------------------------------------------------


def test_if_none_match_star_creates_only(dav: DavClient) -> None:
    dav.put("/a.txt", b"one", check=201, if_none_match="*")
    dav.put("/a.txt", b"two", check=412, if_none_match="*")
    assert dav.get("/a.txt").content == b"one"


def test_if_match_star_overwrites_only(dav: DavClient) -> None:
    dav.put("/a.txt", b"one", check=412, if_match="*")
    dav.get("/a.txt", check=404)
    dav.put("/a.txt", b"one", check=201)
    dav.put("/a.txt", b"two", check=204, if_match="*")


def test_if_match_with_the_current_etag(dav: DavClient) -> None:
    etag = dav.put("/a.txt", b"one", check=201).headers["ETag"]
    dav.put("/a.txt", b"two", check=412, if_match='"not-the-etag"')
    assert dav.get("/a.txt").content == b"one"
    dav.put("/a.txt", b"two", check=204, if_match=etag)
    dav.put("/a.txt", b"three", check=412, if_match=etag)  # lost update refused
    assert dav.get("/a.txt").content == b"two"


def test_a_refused_put_leaves_no_blob(dav: DavClient, svc: Services) -> None:
    dav.put("/a.txt", b"one", check=201)
    before = blob_files(svc)
    dav.put("/a.txt", b"two", check=412, if_match='"nope"')
    dav.put("/a.txt", b"two", check=412, if_none_match="*")
    assert blob_files(svc) == before
    assert temp_files(svc) == []


# -- X-OC-Mtime, OC-Checksum, Content-Range -------------------------------------------


def test_x_oc_mtime_sets_the_modification_time(dav: DavClient) -> None:
    r = dav.put("/a.txt", b"x", check=201, x_oc_mtime="1234567890")
    assert r.headers["X-OC-MTime"] == "accepted"
    modified = parsedate_to_datetime(str(dav.prop("/a.txt", "{DAV:}getlastmodified")))
    assert modified == datetime.fromtimestamp(1_234_567_890, UTC)
    r = dav.put("/a.txt", b"y", check=204)
    assert "X-OC-MTime" not in r.headers
    modified = parsedate_to_datetime(str(dav.prop("/a.txt", "{DAV:}getlastmodified")))
    assert modified.year >= 2024


def test_a_malformed_x_oc_mtime_is_a_bad_request(dav: DavClient) -> None:
    dav.put("/a.txt", b"x", check=400, x_oc_mtime="yesterday")
    dav.get("/a.txt", check=404)


def test_a_matching_sha256_checksum_is_accepted(dav: DavClient) -> None:
    digest = hashlib.sha256(b"data").hexdigest()
    dav.put("/a.txt", b"data", check=201, oc_checksum=f"SHA256:{digest.upper()}")
    checks = dav.prop("/a.txt", f"{{{OC_NS}}}checksums")
    assert not isinstance(checks, str)
    assert checks.findtext(f"{{{OC_NS}}}checksum") == f"SHA256:{digest}"


def test_a_wrong_sha256_checksum_stores_nothing(dav: DavClient, svc: Services) -> None:
    dav.put("/keep.txt", b"old", check=201)
    before = blob_files(svc)
    wrong = hashlib.sha256(b"other").hexdigest()
    dav.put("/a.txt", b"data", check=400, oc_checksum=f"SHA256:{wrong}")
    dav.put("/keep.txt", b"new", check=400, oc_checksum=f"SHA256:{wrong}")
    dav.get("/a.txt", check=404)
    assert dav.get("/keep.txt").content == b"old"
    assert blob_files(svc) == before
    assert temp_files(svc) == []


@pytest.mark.parametrize("algorithm", ["MD5", "SHA1"])
def test_other_checksum_algorithms_are_verified_too(dav: DavClient, algorithm: str) -> None:
    good = hashlib.new(algorithm.lower(), b"data").hexdigest()
    bad = hashlib.new(algorithm.lower(), b"else").hexdigest()
    dav.put("/a.txt", b"data", check=201, oc_checksum=f"{algorithm}:{good}")
    dav.put("/a.txt", b"else", check=204, oc_checksum=f"{algorithm}:{bad}")
    dav.put("/a.txt", b"data", check=400, oc_checksum=f"{algorithm}:{bad}")
    assert dav.get("/a.txt").content == b"else"


def test_a_partial_put_is_refused(dav: DavClient) -> None:
    dav.put("/a.txt", b"0123456789", check=201)
    dav.put("/a.txt", b"xx", check=400, content_range="bytes 0-1/10")
    assert dav.get("/a.txt").content == b"0123456789"


# -- quota ---------------------------------------------------------------------------


def test_a_put_over_the_quota_is_507_and_stores_nothing(app: ASGIApp, svc: Services) -> None:
    who = factories.user(svc, "carl@lauscha", quota=100)
    dav = DavClient(app, who.login)
    dav.put("/a.bin", b"x" * 60, check=201)
    before = blob_files(svc)
    r = dav.put("/b.bin", b"x" * 60, check=507)
    assert "quota-not-exceeded" in r.text
    dav.get("/b.bin", check=404)
    assert blob_files(svc) == before
    # Overwriting counts only the difference.
    dav.put("/a.bin", b"y" * 100, check=204)


@pytest.mark.parametrize("size", [101, 300_000])
def test_a_streamed_put_over_the_quota_is_507(app: ASGIApp, svc: Services, size: int) -> None:
    who = factories.user(svc, "carl@lauscha", quota=100)
    dav = DavClient(app, who.login)
    auth = dav.request("OPTIONS", "/").request.headers["Authorization"]

    def chunks() -> Iterator[bytes]:
        for i in range(0, size, 1000):
            yield b"z" * min(1000, size - i)

    r = dav.client.request(
        "PUT", dav.url("/big"), content=chunks(), headers={"Authorization": auth}
    )
    assert r.status_code == 507, r.text
    dav.get("/big", check=404)
    assert blob_files(svc) == set()
    assert temp_files(svc) == []


def test_put_writes_an_audit_event(dav: DavClient, svc: Services, anna: Principal) -> None:
    from thvc.audit import query

    dav.put("/a.txt", b"x", check=201)
    with svc.db.read() as s:
        events = query(s, action="file.put", actor=anna.login)
    assert [e.target for e in events] == ["anna@lauscha/a.txt"]


def test_a_viewer_of_a_team_space_can_read_but_not_write(
    dav: DavClient, svc: Services, anna: Principal
) -> None:
    svc.files.create_team_space("lauscha", "Team")
    svc.files.set_space_member("lauscha", "Team", role=SpaceRole.VIEWER, user_login=anna.login)
    editor = factories.user(svc, "carl@lauscha")
    svc.files.set_space_member("lauscha", "Team", role=SpaceRole.EDITOR, user_login=editor.login)
    factories.put(svc, editor, "/Team/f.txt", b"team")
    assert dav.get("/Team/f.txt").content == b"team"
    dav.put("/Team/f.txt", b"mine", check=403)
    dav.put("/Team/new.txt", b"mine", check=403)
    dav.mkcol("/Team/dir", check=403)
    dav.delete("/Team/f.txt", check=403)
    dav.move("/Team/f.txt", "/f.txt", check=403)
    assert dav.get("/Team/f.txt").content == b"team"
    assert "W" not in str(dav.prop("/Team/f.txt", f"{{{OC_NS}}}permissions"))
