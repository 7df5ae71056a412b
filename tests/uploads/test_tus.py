"""tus 1.0 at /api/v1/uploads/, in-process: the core protocol and every extension offered."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx
import pytest
from starlette.types import ASGIApp

from tests.common import factories
from tests.common.dav import DavClient, basic, skip_fsync, use_cheap_password_hashing
from thvc.accounts.services import Principal
from thvc.audit.models import AuditEvent
from thvc.errors import BadRequest, InvalidName
from thvc.files.models import SpaceRole
from thvc.services import Services
from thvc.settings import Settings
from thvc.uploads import tus_headers
from thvc.uploads.models import UploadKind
from thvc.uploads.services import UploadService
from thvc.uploads.tus import ID_PATTERN

with warnings.catch_warnings():
    from starlette.exceptions import StarletteDeprecationWarning

    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

BASE = "/api/v1/uploads"
OFFSET = "application/offset+octet-stream"
DATA = os.urandom(300_000)


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch, svc: Services) -> None:
    use_cheap_password_hashing(monkeypatch)
    skip_fsync(monkeypatch, svc.db.engine)


def metadata(**values: str | bytes) -> str:
    """``Upload-Metadata`` from keyword arguments (values base64-encoded, as clients do)."""
    out = []
    for key, value in values.items():
        raw = value.encode() if isinstance(value, str) else value
        out.append(f"{key} {base64.b64encode(raw).decode()}")
    return ",".join(out)


class Tus:
    """Requests to /api/v1/uploads/ as a tus client sends them (``Tus-Resumable: 1.0.0``)."""

    def __init__(self, app: ASGIApp, login: str, password: str = factories.PASSWORD) -> None:
        self.client = TestClient(app, raise_server_exceptions=True)
        self.auth: str | None = basic(login, password)

    def request(
        self,
        method: str,
        url: str = BASE + "/",
        body: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
        check: int | None = None,
    ) -> httpx.Response:
        hdrs = {"Tus-Resumable": "1.0.0"}
        if self.auth is not None:
            hdrs["Authorization"] = self.auth
        hdrs.update(headers or {})
        r = self.client.request(method, url, content=body, headers=hdrs)
        if check is not None:
            assert r.status_code == check, (
                f"{method} {url}: expected {check}, got {r.status_code}\n{r.headers}\n{r.text}"
            )
        assert r.headers.get("Tus-Resumable") == "1.0.0", r.headers
        return r

    def create(
        self,
        length: int | None = len(DATA),
        meta: str | None = None,
        check: int | None = 201,
        body: bytes | None = None,
        **headers: str,
    ) -> httpx.Response:
        hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
        if length is not None:
            hdrs.setdefault("Upload-Length", str(length))
        if meta is not None:
            hdrs["Upload-Metadata"] = meta
        if body is not None:
            hdrs.setdefault("Content-Type", OFFSET)
        return self.request("POST", BASE + "/", body, hdrs, check=check)

    def new(self, length: int | None = len(DATA), name: str = "f.bin", **headers: str) -> str:
        """Create an upload; its URL."""
        r = self.create(length, metadata(filename=name), **headers)
        return r.headers["Location"]

    def head(self, url: str, check: int | None = 200) -> httpx.Response:
        return self.request("HEAD", url, check=check)

    def offset(self, url: str) -> int:
        return int(self.head(url).headers["Upload-Offset"])

    def patch(
        self,
        url: str,
        offset: int,
        data: bytes | Iterable[bytes],
        check: int | None = 204,
        **headers: str,
    ) -> httpx.Response:
        hdrs = {"Content-Type": OFFSET, "Upload-Offset": str(offset)}
        hdrs.update({k.replace("_", "-"): v for k, v in headers.items()})
        return self.request("PATCH", url, data, hdrs, check=check)

    def send(self, url: str, data: bytes, piece: int = 100_000) -> httpx.Response:
        """PATCH ``data`` in pieces; the last response."""
        r: httpx.Response | None = None
        for start in range(0, len(data), piece):
            r = self.patch(url, start, data[start : start + piece])
        assert r is not None
        return r


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def pieces(data: bytes, size: int = 70_000) -> Iterator[bytes]:
    """A body without Content-Length (chunked transfer encoding)."""
    for i in range(0, len(data), size):
        yield data[i : i + size]


@pytest.fixture
def app(settings: Settings, svc: Services) -> ASGIApp:
    from thvc.app import create_app

    return create_app(settings, svc)


@pytest.fixture
def tus(app: ASGIApp, anna: Principal) -> Tus:
    return Tus(app, anna.login)


@pytest.fixture
def tus_ben(app: ASGIApp, ben: Principal) -> Tus:
    return Tus(app, ben.login)


def open_tus_sessions(svc: Services, who: Principal) -> list[str]:
    return [u.name for u in svc.uploads.list_sessions(who, UploadKind.TUS)]


# -- core protocol -----------------------------------------------------------------


def test_an_upload_in_three_patches_arrives_byte_identical(
    tus: Tus, dav: DavClient, svc: Services, anna: Principal
) -> None:
    r = tus.create(meta=metadata(filename="Bericht 2026.pdf", filetype="application/pdf"))
    url = r.headers["Location"]
    assert url.startswith(BASE + "/")
    assert ID_PATTERN.fullmatch(url.rpartition("/")[2])  # 160 random bits
    assert r.headers["Upload-Offset"] == "0"
    first = tus.head(url)
    assert first.headers["Upload-Offset"] == "0"
    assert first.headers["Upload-Length"] == str(len(DATA))
    assert first.headers["Cache-Control"] == "no-store"
    assert first.headers["Upload-Metadata"] == metadata(
        filename="Bericht 2026.pdf", filetype="application/pdf"
    )
    r = tus.patch(url, 0, DATA[:100_000])
    assert r.headers["Upload-Offset"] == "100000"
    assert "Upload-Expires" in r.headers
    assert tus.offset(url) == 100_000
    tus.patch(url, 100_000, DATA[100_000:250_000])
    # Until the last byte arrives, nothing is visible.
    dav.get("/Bericht 2026.pdf", check=404)
    r = tus.patch(url, 250_000, DATA[250_000:])
    assert r.headers["Upload-Offset"] == str(len(DATA))
    got = dav.get("/Bericht 2026.pdf")
    assert got.content == DATA
    assert got.headers["Content-Type"] == "application/pdf"
    # The upload is done: its URL is gone, and so is the session.
    tus.head(url, check=404)
    assert open_tus_sessions(svc, anna) == []
    with svc.db.read() as s:
        actions = [e.action for e in s.query(AuditEvent).order_by(AuditEvent.seq)]
    assert actions[-6:] == [
        "upload.open",
        "upload.part",
        "upload.part",
        "upload.part",
        "file.put",
        "upload.assemble",
    ]


def test_a_body_without_content_length_streams(tus: Tus, dav: DavClient) -> None:
    big = os.urandom(3 << 20)  # several 1 MiB pieces in one PATCH
    url = tus.new(len(big), "big.bin")
    tus.patch(url, 0, pieces(big[: 2 << 20], 300_000))
    assert tus.offset(url) == 2 << 20
    tus.patch(url, 2 << 20, pieces(big[2 << 20 :], 300_000))
    assert dav.get("/big.bin").content == big


def test_options_announces_the_protocol_without_an_account(app: ASGIApp) -> None:
    anonymous = Tus(app, "nobody@nowhere")
    anonymous.auth = None
    r = anonymous.request("OPTIONS", BASE + "/", headers={"Tus-Resumable": "0"}, check=204)
    assert r.headers["Tus-Version"] == "1.0.0"
    assert set(r.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "creation-defer-length",
        "termination",
        "checksum",
        "expiration",
    }
    assert r.headers["Tus-Checksum-Algorithm"] == "md5,sha1,sha256"
    assert "Tus-Max-Size" not in r.headers


def test_tus_max_size_is_the_quota_left(app: ASGIApp, svc: Services, anna: Principal) -> None:
    assert "Tus-Max-Size" not in Tus(app, anna.login).request("OPTIONS", check=204).headers
    factories.user(svc, "carl@lauscha", quota=5000)
    carl = Tus(app, "carl@lauscha")
    assert carl.request("OPTIONS", check=204).headers["Tus-Max-Size"] == "5000"
    factories.put(svc, factories.user(svc, "dora@lauscha", quota=5000), "/a", b"x" * 1200)
    dora = Tus(app, "dora@lauscha")
    assert dora.request("OPTIONS", check=204).headers["Tus-Max-Size"] == "3800"


@pytest.mark.parametrize("version", [None, "0.2.2", "1.0", "2.0.0"])
def test_an_unsupported_version_is_412(tus: Tus, version: str | None) -> None:
    url = tus.new()
    hdrs = {"Tus-Resumable": version} if version else {}
    for method, target in [("POST", BASE + "/"), ("HEAD", url), ("PATCH", url)]:
        r = tus.client.request(
            method,
            target,
            content=b"x" if method == "PATCH" else None,
            headers={
                "Authorization": tus.auth or "",
                "Content-Type": OFFSET,
                "Upload-Offset": "0",
                "Upload-Length": "1",
                **hdrs,
            },
        )
        assert r.status_code == 412, (method, r.text)
        assert r.headers["Tus-Version"] == "1.0.0"
        assert r.headers["Tus-Resumable"] == "1.0.0"
    assert tus.offset(url) == 0


def test_a_wrong_offset_is_409(tus: Tus) -> None:
    url = tus.new()
    tus.patch(url, 0, DATA[:1000])
    for wrong in (0, 999, 1001, 5000):
        r = tus.patch(url, wrong, DATA[wrong : wrong + 10], check=409)
        assert "offset 1000" in r.text
    assert tus.offset(url) == 1000


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "text/plain"])
def test_a_patch_needs_the_offset_content_type(tus: Tus, content_type: str | None) -> None:
    url = tus.new()
    hdrs = {"Upload-Offset": "0"}
    if content_type:
        hdrs["Content-Type"] = content_type
    r = tus.request("PATCH", url, DATA[:10], hdrs, check=415)
    assert "application/offset+octet-stream" in r.text
    assert tus.offset(url) == 0


def test_the_content_type_may_have_parameters(tus: Tus) -> None:
    url = tus.new(3)
    tus.patch(url, 0, b"abc", content_type=f"{OFFSET}; charset=binary")


@pytest.mark.parametrize("offset", [None, "", "-1", "1e3", "x", "1" * 20])
def test_a_bad_upload_offset_is_400(tus: Tus, offset: str | None) -> None:
    url = tus.new()
    hdrs = {"Content-Type": OFFSET}
    if offset is not None:
        hdrs["Upload-Offset"] = offset
    tus.request("PATCH", url, b"abc", hdrs, check=400)


def test_an_existing_file_gets_a_new_version(
    tus: Tus, dav: DavClient, svc: Services, anna: Principal
) -> None:
    dav.put("/f.bin", b"old", check=201)
    fileid = dav.fileid("/f.bin")
    url = tus.new(len(DATA), "f.bin")
    tus.send(url, DATA)
    assert dav.get("/f.bin").content == DATA
    assert dav.fileid("/f.bin") == fileid
    assert [v.size for v in svc.files.list_versions(factories.loc(svc, anna, "/f.bin"))] == [3]


def test_an_empty_upload_creates_an_empty_file(tus: Tus, dav: DavClient, svc: Services) -> None:
    r = tus.create(0, metadata(filename="empty.txt"))
    assert r.headers["Upload-Offset"] == "0"
    assert dav.get("/empty.txt").content == b""
    tus.head(r.headers["Location"], check=404)


def test_other_methods_and_paths(tus: Tus) -> None:
    url = tus.new()
    r = tus.request("GET", url, check=405)
    assert r.headers["Allow"] == "OPTIONS, HEAD, PATCH, DELETE"
    assert tus.request("PUT", BASE + "/", check=405).headers["Allow"] == "OPTIONS, POST"
    tus.request("POST", url, headers={"Upload-Length": "1"}, check=405)
    tus.head(BASE + "/" + "0" * 40, check=404)
    tus.head(BASE + "/not-an-id", check=404)
    tus.head(url + "/deeper", check=404)
    tus.head(BASE + "/", check=404)


def test_x_http_method_override(tus: Tus, dav: DavClient) -> None:
    url = tus.new(5, "o.txt")
    hdrs = {"X-HTTP-Method-Override": "PATCH", "Content-Type": OFFSET, "Upload-Offset": "0"}
    tus.request("POST", url, b"hello", hdrs, check=204)
    assert dav.get("/o.txt").content == b"hello"


# -- authentication -----------------------------------------------------------------


def test_without_credentials_401(app: ASGIApp, anna: Principal, tus: Tus) -> None:
    url = tus.new()
    anonymous = Tus(app, anna.login)
    anonymous.auth = None
    for method, target in [("POST", BASE + "/"), ("HEAD", url), ("DELETE", url)]:
        r = anonymous.request(method, target, headers={"Upload-Length": "1"}, check=401)
        assert r.headers["WWW-Authenticate"].startswith('Basic realm="ThVC"')
    r = anonymous.patch(url, 0, b"x", check=401, authorization="Negotiate abc")
    assert r.headers["WWW-Authenticate"].startswith('Basic realm="ThVC"')
    wrong = Tus(app, anna.login, "wrong-password")
    wrong.create(check=401)
    assert tus.offset(url) == 0


def test_app_passwords_work_as_basic_and_as_bearer(
    app: ASGIApp, svc: Services, anna: Principal, dav: DavClient
) -> None:
    token = svc.accounts.create_app_password(anna.login, "uppy")
    as_basic = Tus(app, anna.login, token)
    url = as_basic.new(3, "basic.txt")
    as_basic.patch(url, 0, b"one")
    bearer = Tus(app, anna.login)
    bearer.auth = f"Bearer {token}"
    url = bearer.new(3, "bearer.txt")
    # The same upload, whichever credential of the same user sends the next request.
    assert as_basic.offset(url) == 0
    bearer.patch(url, 0, b"two")
    assert dav.get("/basic.txt").content == b"one"
    assert dav.get("/bearer.txt").content == b"two"
    forged = token[:-1] + ("y" if token.endswith("x") else "x")
    for bad in ("Bearer " + forged, "Bearer ", "Bearer correct-horse-battery"):
        bearer.auth = bad
        r = bearer.create(check=401)
        assert r.headers["WWW-Authenticate"].startswith('Basic realm="ThVC"')
    # A revoked app password is refused at once, as Basic and as Bearer.
    svc.accounts.revoke_app_password(anna.login, "uppy")
    bearer.auth = f"Bearer {token}"
    bearer.create(check=401)
    as_basic.create(check=401)


def test_another_users_upload_is_404(tus: Tus, tus_ben: Tus) -> None:
    url = tus.new()
    tus.patch(url, 0, DATA[:10])
    tus_ben.head(url, check=404)
    tus_ben.patch(url, 10, DATA[10:20], check=404)
    tus_ben.request("DELETE", url, check=404)
    tus_ben.request("OPTIONS", url, check=204)
    assert tus.offset(url) == 10


# -- metadata ---------------------------------------------------------------------


def test_uppy_sends_name_and_the_folder_is_a_path_in_the_tree(
    tus: Tus, dav: DavClient, svc: Services, anna: Principal
) -> None:
    factories.mkdir(svc, anna, "/Ämter")
    factories.mkdir(svc, anna, "/Ämter/2026")
    meta = metadata(
        name="Straßen.xlsx", type="application/vnd.ms-excel", folder="Ämter/2026", relativePath=""
    )
    url = tus.create(len(DATA), meta).headers["Location"]
    tus.send(url, DATA)
    assert dav.get("/Ämter/2026/Straßen.xlsx").content == DATA


@pytest.mark.parametrize("folder", ["/Ämter/", "Ämter//", "/Ämter"])
def test_slashes_around_the_folder_do_not_matter(
    tus: Tus, dav: DavClient, svc: Services, anna: Principal, folder: str
) -> None:
    factories.mkdir(svc, anna, "/Ämter")
    url = tus.create(3, metadata(filename="a.txt", folder=folder)).headers["Location"]
    tus.patch(url, 0, b"abc")
    assert dav.get("/Ämter/a.txt").content == b"abc"


def test_filename_wins_over_name(tus: Tus, dav: DavClient) -> None:
    url = tus.create(3, metadata(name="b.txt", filename="a.txt")).headers["Location"]
    tus.patch(url, 0, b"abc")
    assert dav.get("/a.txt").content == b"abc"


@pytest.mark.parametrize("header", [None, "", "  ", "filename", "filename ,", "other eA=="])
def test_without_a_name_the_file_is_named_by_its_upload_id(
    tus: Tus, dav: DavClient, header: str | None
) -> None:
    url = tus.create(3, meta=header).headers["Location"]
    upload_id = url.rpartition("/")[2]
    tus.patch(url, 0, b"abc")
    assert dav.get(f"/{upload_id}").content == b"abc"


@pytest.mark.parametrize(
    "header",
    [
        "filename not-base64!",
        "filename YWJj=",  # bad padding
        "filename YWJj YWJj",
        "filename YQ==,filename Yg==",
        "file\x7fname YQ==",
        "filename /w==",  # not UTF-8
    ],
)
def test_malformed_metadata_is_400(tus: Tus, header: str, svc: Services, anna: Principal) -> None:
    r = tus.create(meta=header, check=400)
    assert "Upload-Metadata" in r.text
    assert open_tus_sessions(svc, anna) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("filename", ".."),
        ("filename", "."),
        ("filename", "a/b"),
        ("filename", "a\\b"),
        ("filename", "evil\x00.txt"),
        ("filename", "line\nbreak"),
        ("filename", "x" * 300),
        ("name", "../../etc/passwd"),
        ("folder", ".."),
        ("folder", "a/../b"),
        ("folder", "a/\x1b[31m"),
    ],
)
def test_hostile_names_are_400(
    tus: Tus, key: str, value: str, svc: Services, anna: Principal
) -> None:
    meta = {key: value} if key != "folder" else {"filename": "ok.txt", key: value}
    tus.create(meta=metadata(**meta), check=400)
    assert open_tus_sessions(svc, anna) == []


def test_a_missing_folder_is_409(tus: Tus) -> None:
    r = tus.create(meta=metadata(filename="a.txt", folder="nope/deeper"), check=409)
    assert "nope/deeper" in r.text


def test_a_folder_of_the_target_name_is_409(tus: Tus, svc: Services, anna: Principal) -> None:
    factories.mkdir(svc, anna, "/taken")
    tus.create(meta=metadata(filename="taken"), check=409)


def test_the_folder_may_be_a_team_space(svc: Services, app: ASGIApp, anna: Principal) -> None:
    svc.files.create_team_space("lauscha", "Bauamt")
    svc.files.set_space_member("lauscha", "Bauamt", role=SpaceRole.EDITOR, user_login=anna.login)
    tus = Tus(app, anna.login)
    url = tus.create(3, metadata(filename="plan.txt", folder="Bauamt")).headers["Location"]
    tus.patch(url, 0, b"abc")
    assert DavClient(app, anna.login).get("/Bauamt/plan.txt").content == b"abc"


# -- limits ---------------------------------------------------------------------------


def test_a_length_beyond_the_quota_is_413(app: ASGIApp, svc: Services) -> None:
    who = factories.user(svc, "carl@lauscha", quota=10_000)
    tus = Tus(app, who.login)
    r = tus.create(10_001, metadata(filename="big.bin"), check=413)
    assert "quota" in r.text
    assert open_tus_sessions(svc, who) == []
    url = tus.create(10_000, metadata(filename="fits.bin")).headers["Location"]
    tus.patch(url, 0, b"x" * 10_000)


def test_a_deferred_length_is_held_to_the_quota_while_bytes_arrive(
    app: ASGIApp, svc: Services
) -> None:
    who = factories.user(svc, "carl@lauscha", quota=1000)
    tus = Tus(app, who.login)
    url = tus.create(None, metadata(filename="d.bin"), upload_defer_length="1").headers["Location"]
    tus.patch(url, 0, b"x" * 1001, check=413)
    assert tus.offset(url) == 0
    tus.patch(url, 0, pieces(b"x" * 1001, 100), check=413)
    tus.patch(url, 0, b"x" * 600)
    tus.patch(url, 600, b"x" * 600, check=413, upload_length="1200")


def test_a_body_beyond_the_length_is_413_and_stores_nothing(tus: Tus, svc: Services) -> None:
    url = tus.new(100)
    tus.patch(url, 0, b"a" * 40)
    r = tus.patch(url, 40, b"b" * 61, check=413)
    assert "length" in r.text
    # Without Content-Length the server finds out while reading: still nothing stored.
    tus.patch(url, 40, pieces(b"b" * 200_000, 30), check=413)
    assert tus.offset(url) == 40
    tus.patch(url, 40, b"b" * 60)
    tmp = svc.blobs.root / ".tmp"
    assert not tmp.exists() or os.listdir(tmp) == []


def test_a_length_cannot_change(tus: Tus) -> None:
    url = tus.new(10)
    tus.patch(url, 0, b"x", check=400, upload_length="11")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Upload-Length": "10", "Upload-Defer-Length": "1"},
        {"Upload-Defer-Length": "0"},
        {"Upload-Length": "-1"},
        {"Upload-Length": "ten"},
    ],
)
def test_a_creation_needs_one_length(tus: Tus, headers: dict[str, str]) -> None:
    tus.request("POST", BASE + "/", headers=headers, check=400)


# -- checksum -----------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "md5", "SHA1"])
def test_a_matching_checksum_is_accepted(tus: Tus, algorithm: str, dav: DavClient) -> None:
    url = tus.new(len(DATA))
    for start, end in [(0, 100_000), (100_000, len(DATA))]:
        piece = DATA[start:end]
        digest = hashlib.new(algorithm.lower(), piece).digest()
        tus.patch(url, start, piece, upload_checksum=f"{algorithm} {b64(digest)}")
    assert dav.get("/f.bin").content == DATA


@pytest.mark.parametrize("algorithm", ["sha1", "sha256", "md5"])
def test_a_checksum_mismatch_is_460_and_discards_the_part(
    tus: Tus, algorithm: str, svc: Services
) -> None:
    url = tus.new()
    tus.patch(url, 0, DATA[:1000])
    wrong = hashlib.new(algorithm, b"something else").digest()
    r = tus.patch(
        url, 1000, DATA[1000:5000], check=460, upload_checksum=f"{algorithm} {b64(wrong)}"
    )
    assert "checksum" in r.text
    assert tus.offset(url) == 1000
    # Streamed, too: the body is checked after its last byte.
    tus.patch(
        url, 1000, pieces(DATA[1000:5000], 999), check=460, upload_checksum=f"sha1 {b64(wrong)}"
    )
    assert tus.offset(url) == 1000
    assert len(list(svc.blobs.iter_blobs())) == 1


@pytest.mark.parametrize("value", ["crc32 AAAAAA==", "sha1", "sha1 !!!", "sha512 AAAA"])
def test_an_unsupported_or_malformed_checksum_is_400(tus: Tus, value: str) -> None:
    url = tus.new()
    r = tus.patch(url, 0, DATA[:10], check=400, upload_checksum=value)
    assert "checksum" in r.text.lower()
    assert tus.offset(url) == 0


# -- creation-with-upload, creation-defer-length, termination ----------------------


def test_creation_with_upload_stores_the_first_bytes(tus: Tus, dav: DavClient) -> None:
    r = tus.create(len(DATA), metadata(filename="w.bin"), body=DATA[:50_000])
    assert r.headers["Upload-Offset"] == "50000"
    url = r.headers["Location"]
    assert tus.offset(url) == 50_000
    tus.patch(url, 50_000, DATA[50_000:])
    assert dav.get("/w.bin").content == DATA


def test_creation_with_the_whole_body_is_done_at_once(tus: Tus, dav: DavClient) -> None:
    digest = b64(hashlib.sha256(DATA).digest())
    r = tus.create(
        len(DATA), metadata(filename="one.bin"), body=DATA, upload_checksum=f"sha256 {digest}"
    )
    assert r.headers["Upload-Offset"] == str(len(DATA))
    assert "Upload-Expires" not in r.headers
    assert dav.get("/one.bin").content == DATA
    tus.head(r.headers["Location"], check=404)


def test_creation_with_a_failing_body_leaves_nothing(
    tus: Tus, svc: Services, anna: Principal
) -> None:
    wrong = b64(hashlib.sha1(b"x").digest())
    tus.create(
        10,
        metadata(filename="c.bin"),
        body=b"0123456789",
        upload_checksum=f"sha1 {wrong}",
        check=460,
    )
    tus.create(10, metadata(filename="c.bin"), body=b"0123456789ab", check=413)
    assert open_tus_sessions(svc, anna) == []
    assert list(svc.blobs.iter_blobs()) == []


def test_creation_with_a_body_of_another_type_is_415(tus: Tus) -> None:
    tus.create(
        10, metadata(filename="c.bin"), body=b"0123456789", content_type="text/plain", check=415
    )


def test_defer_length(tus: Tus, dav: DavClient) -> None:
    r = tus.create(None, metadata(filename="later.bin"), upload_defer_length="1")
    url = r.headers["Location"]
    head = tus.head(url)
    assert head.headers["Upload-Defer-Length"] == "1"
    assert "Upload-Length" not in head.headers
    tus.patch(url, 0, DATA[:100_000])
    tus.patch(url, 100_000, DATA[100_000:200_000])
    dav.get("/later.bin", check=404)
    # The length, once known, comes with a PATCH; with the last bytes here.
    r = tus.patch(url, 200_000, DATA[200_000:], upload_length=str(len(DATA)))
    assert r.headers["Upload-Offset"] == str(len(DATA))
    assert dav.get("/later.bin").content == DATA


def test_defer_length_declared_in_an_empty_patch(tus: Tus, dav: DavClient) -> None:
    url = tus.new(None, "e.bin", upload_defer_length="1")
    tus.patch(url, 0, b"abc")
    head = tus.head(url)
    assert head.headers["Upload-Offset"] == "3"
    tus.patch(url, 3, b"", upload_length="2", check=400)
    tus.patch(url, 3, b"", upload_length="3")
    assert dav.get("/e.bin").content == b"abc"


def test_termination(tus: Tus, svc: Services, anna: Principal) -> None:
    url = tus.new()
    tus.patch(url, 0, DATA[:1000])
    tus.request("DELETE", url, check=204)
    tus.head(url, check=404)
    tus.patch(url, 1000, DATA[1000:2000], check=404)
    tus.request("DELETE", url, check=404)
    assert open_tus_sessions(svc, anna) == []
    assert list(svc.blobs.iter_blobs()) == []


# -- expiration -------------------------------------------------------------------------


def test_upload_expires_is_a_day_after_the_last_part(tus: Tus) -> None:
    r = tus.create()
    url = r.headers["Location"]
    expires = parsedate_to_datetime(r.headers["Upload-Expires"])
    now = datetime.now(UTC)
    assert timedelta(hours=23, minutes=59) < expires - now <= timedelta(hours=24)
    r = tus.patch(url, 0, DATA[:10])
    assert parsedate_to_datetime(r.headers["Upload-Expires"]) >= expires
    assert parsedate_to_datetime(tus.head(url).headers["Upload-Expires"]) >= expires


def test_the_expiry_is_a_setting(tmp_path: Any, database_url: str) -> None:
    assert Settings.model_fields["upload_expiry_seconds"].default == 86_400
    settings = Settings(
        data_dir=tmp_path / "d", database_url=database_url, upload_expiry_seconds=3600
    )
    assert settings.upload_expiry_seconds == 3600


def test_an_expired_upload_is_gone(
    tus: Tus, svc: Services, anna: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = tus.new()
    tus.patch(url, 0, DATA[:1000])
    monkeypatch.setattr(svc.uploads, "stale_after", timedelta(0))
    # Past its time but not yet cleaned away: 410, and nothing more is accepted.
    tus.head(url, check=410)
    tus.patch(url, 1000, DATA[1000:2000], check=410)
    # The core's clean-up removes it (and its parts) for good.
    assert svc.uploads.clean_stale() == 1
    tus.head(url, check=404)
    assert list(svc.blobs.iter_blobs()) == []
    with svc.db.read() as s:
        assert s.query(AuditEvent).filter(AuditEvent.action == "upload.expire").count() == 1


def test_the_service_takes_its_expiry_from_the_settings(svc: Services, settings: Settings) -> None:
    uploads = UploadService(
        svc.db,
        audit=svc.audit,
        blobs=svc.blobs,
        keys=svc.files.keys,
        files=svc.files,
        settings=settings.model_copy(update={"upload_expiry_seconds": 120}),
    )
    assert uploads.stale_after == timedelta(seconds=120)
    assert svc.uploads.stale_after == timedelta(hours=24)


# -- interruptions -------------------------------------------------------------------


def _asgi_patch(
    app: ASGIApp,
    url: str,
    auth: str,
    offset: int,
    messages: list[dict[str, object]],
    length: int,
    **headers: str,
) -> list[dict[str, Any]]:
    """A PATCH straight to the ASGI app, its body as ``messages`` (a disconnect cuts it off)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "PATCH",
        "scheme": "http",
        "path": url,
        "raw_path": url.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", auth.encode()),
            (b"tus-resumable", b"1.0.0"),
            (b"content-type", OFFSET.encode()),
            (b"upload-offset", str(offset).encode()),
            (b"content-length", str(length).encode()),
            *[(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()],
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    queue = iter(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, object]:
        return next(queue, {"type": "http.disconnect"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)  # type: ignore[arg-type]
    return sent


def test_bytes_of_a_cut_off_patch_are_kept_and_the_client_resumes_after_them(
    app: ASGIApp, tus: Tus, dav: DavClient
) -> None:
    data = os.urandom(3 << 20)
    url = tus.new(len(data), "cut.bin")
    assert tus.auth is not None
    # 1.5 MiB arrive, then the connection drops: the whole MiB pieces written are kept.
    _asgi_patch(
        app,
        url,
        tus.auth,
        0,
        [
            {"type": "http.request", "body": data[: 1 << 20], "more_body": True},
            {"type": "http.request", "body": data[1 << 20 : 3 << 19], "more_body": True},
            {"type": "http.disconnect"},
        ],
        len(data),
    )
    offset = tus.offset(url)
    assert 0 < offset <= 3 << 19
    tus.patch(url, offset, data[offset:])
    assert dav.get("/cut.bin").content == data


def test_a_cut_off_patch_with_a_checksum_keeps_nothing(app: ASGIApp, tus: Tus) -> None:
    data = os.urandom(2 << 20)
    url = tus.new(len(data), "cut.bin")
    assert tus.auth is not None
    # The checksum covers the whole body: a part of it cannot be verified.
    digest = b64(hashlib.sha1(data).digest())
    _asgi_patch(
        app,
        url,
        tus.auth,
        0,
        [
            {"type": "http.request", "body": data[: 3 << 19], "more_body": True},
            {"type": "http.disconnect"},
        ],
        len(data),
        upload_checksum=f"sha1 {digest}",
    )
    assert tus.offset(url) == 0


def test_a_complete_upload_left_unassembled_is_assembled_on_head(
    tus: Tus, dav: DavClient, svc: Services, anna: Principal
) -> None:
    """The server stopped between the last part and the assembly: the next HEAD finishes it."""
    url = tus.new(3, "late.txt")
    upload = svc.uploads.get_session(anna, UploadKind.TUS, url.rpartition("/")[2])
    part = svc.uploads.begin_part(anna, upload, "0", 0, length=3)
    part.write(b"abc")
    svc.uploads.finish_part(part, actor=anna)
    dav.get("/late.txt", check=404)
    head = tus.head(url)
    assert head.headers["Upload-Offset"] == head.headers["Upload-Length"] == "3"
    assert dav.get("/late.txt").content == b"abc"
    tus.head(url, check=404)


def test_a_failed_assembly_is_reported_and_can_be_retried(
    tus: Tus, dav: DavClient, svc: Services, anna: Principal
) -> None:
    factories.mkdir(svc, anna, "/box")
    url = tus.create(3, metadata(filename="x.txt", folder="box")).headers["Location"]
    dav.delete("/box")
    r = tus.patch(url, 0, b"abc", check=409)
    assert "parent" in r.text.lower() or "folder" in r.text.lower()
    # What arrived is kept: once the folder is back, HEAD (as a resuming client sends) finishes.
    dav.mkcol("/box")
    assert tus.head(url).headers["Upload-Offset"] == "3"
    assert dav.get("/box/x.txt").content == b"abc"


# -- the header parsers -------------------------------------------------------------------


def test_parse_metadata() -> None:
    parse = tus_headers.parse_metadata
    assert parse(None) == {} == parse("") == parse(" ")
    assert parse("filename YS50eHQ=,is_confidential") == {
        "filename": b"a.txt",
        "is_confidential": b"",
    }
    assert parse(" a YQ== , b ,") == {"a": b"a", "b": b""}
    assert parse("unpadded YWI") == {"unpadded": b"ab"}
    with pytest.raises(BadRequest, match="base64"):
        parse("a Y")
    with pytest.raises(BadRequest, match="twice"):
        parse("a,a")
    with pytest.raises(BadRequest, match="longer"):
        parse("a " + "QUFB" * 3000)


def test_folder_segments() -> None:
    assert tus_headers.folder_segments(None) == ()
    assert tus_headers.folder_segments("/A/b//c/") == ("A", "b", "c")
    # NFC, as every name in the tree.
    assert tus_headers.folder_segments("A\u0308mter") == ("Ämter",)
    with pytest.raises(InvalidName):
        tus_headers.folder_segments("a/../b")


def test_parse_checksum() -> None:
    c = tus_headers.parse_checksum("sha256 " + b64(hashlib.sha256(b"x").digest()))
    assert c is not None
    assert c.core == "SHA256:" + hashlib.sha256(b"x").hexdigest()
    assert tus_headers.parse_checksum(None) is None
    with pytest.raises(BadRequest, match="not supported"):
        tus_headers.parse_checksum("adler32 AAAAAA==")


def test_location_ids_are_unique_and_random(tus: Tus) -> None:
    ids = {tus.new(1, f"n{i}").rpartition("/")[2] for i in range(20)}
    assert len(ids) == 20
    assert all(re.fullmatch(r"[0-9a-f]{40}", i) for i in ids)
