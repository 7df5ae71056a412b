"""Public WebDAV: /public.php/webdav/ and /public.php/dav/files/{token}/, in-process and rclone."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.clients.conftest import require
from tests.common import factories
from tests.common.dav import (
    basic,
    make_tree,
    parse_multistatus,
    propfind_body,
    skip_fsync,
    use_cheap_password_hashing,
)
from tests.common.server import LiveServer, start_server
from tests.web.conftest import BIG, TREE, link, set_link
from tests.web.support import sha
from thvc.accounts.services import Principal
from thvc.audit.models import AuditEvent
from thvc.db.types import utcnow
from thvc.services import Services, build_services
from thvc.settings import Settings
from thvc.sharing.models import LinkKind

Client = Any  # starlette.testclient.TestClient
WEBDAV = "/public.php/webdav"
FILES = "/public.php/dav/files"


class Public:
    """Requests to one link's public tree, in one of the two URL forms."""

    def __init__(self, client: Client, token: str, form: str, password: str = "") -> None:
        self.client = client
        self.token = token
        self.form = form
        self.password = password

    @property
    def root(self) -> str:
        return WEBDAV if self.form == "webdav" else f"{FILES}/{self.token}"

    def url(self, path: str) -> str:
        return self.root + path

    def request(
        self, method: str, path: str, body: bytes | None = None, **headers: str
    ) -> httpx.Response:
        hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
        if self.form == "webdav" or self.password:
            hdrs.setdefault("Authorization", basic(self.token, self.password))
        return self.client.request(method, self.url(path), content=body, headers=hdrs)

    def propfind(self, path: str, depth: str = "1") -> dict[str, Any]:
        r = self.request("PROPFIND", path, propfind_body(None), Depth=depth)
        assert r.status_code == 207, r.text
        return parse_multistatus(r.content)


@pytest.fixture(params=["webdav", "files"])
def form(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_read_link_lists_and_reads_in_both_trees(
    svc: Services, anna: Principal, client: Client, form: str
) -> None:
    dav = Public(client, link(svc, anna, "Akten").token, form)
    found = dav.propfind("/")
    root = dav.root + "/"
    assert set(found) == {
        root,
        root + "Haushalt%202026.txt",
        root + "leer.txt",
        root + "gross.bin",
        root + "%C3%9Cbersicht/",
        root + "leerer%20Ordner/",
    }
    assert found[root + "gross.bin"]["{DAV:}getcontentlength"] == (200, str(len(BIG)))
    deeper = dav.propfind("/%C3%9Cbersicht/")
    assert root + "%C3%9Cbersicht/Stra%C3%9Fe%20%26%20Br%C3%BCcke.csv" in deeper
    r = dav.request("GET", "/gross.bin")
    assert r.status_code == 200 and r.content == BIG
    part = dav.request("GET", "/gross.bin", Range="bytes=5-9")
    assert part.status_code == 206 and part.content == BIG[5:10]
    assert dav.request("GET", "/fehlt.txt").status_code == 404


def test_a_read_link_refuses_every_write(
    svc: Services, anna: Principal, client: Client, form: str
) -> None:
    dav = Public(client, link(svc, anna, "Akten").token, form)
    assert dav.request("PUT", "/neu.txt", b"x").status_code == 403
    assert dav.request("PUT", "/leer.txt", b"x").status_code == 403
    assert dav.request("MKCOL", "/neu").status_code == 403
    assert dav.request("DELETE", "/leer.txt").status_code == 403
    dst = dav.url("/kopie.txt")
    assert dav.request("COPY", "/leer.txt", Destination=dst).status_code == 403
    assert dav.request("MOVE", "/leer.txt", Destination=dst).status_code == 403
    assert factories.read(svc, anna, "Akten/leer.txt") == b""


def test_a_read_write_link_does_what_a_folder_owner_does(
    svc: Services, anna: Principal, client: Client, form: str
) -> None:
    dav = Public(client, link(svc, anna, "Akten", kind=LinkKind.READ_WRITE).token, form)
    assert dav.request("PUT", "/neu.txt", b"neu\n").status_code == 201
    assert dav.request("PUT", "/neu.txt", b"neuer\n").status_code == 204
    assert dav.request("MKCOL", "/Neuer Ordner").status_code == 201
    moved = dav.request("MOVE", "/neu.txt", Destination=dav.url("/Neuer%20Ordner/neu.txt"))
    assert moved.status_code == 201
    assert dav.request("DELETE", "/leer.txt").status_code == 204
    assert factories.read(svc, anna, "Akten/Neuer Ordner/neu.txt") == b"neuer\n"
    names = {e.name for e in svc.files.listing(factories.loc(svc, anna, "Akten"))[1]}
    assert "leer.txt" not in names and "neu.txt" not in names
    # Nothing outside the link's folder can be reached.
    outside = dav.request("COPY", "/gross.bin", Destination="/dav/files/anna@lauscha/x.bin")
    assert outside.status_code == 502
    assert dav.request("DELETE", "/").status_code == 403


def test_a_drop_takes_new_files_only_and_shows_nothing(
    svc: Services, anna: Principal, client: Client, form: str
) -> None:
    dav = Public(client, link(svc, anna, "Eingang", kind=LinkKind.DROP).token, form)
    assert dav.request("PUT", "/Antrag.pdf", b"%PDF").status_code == 201
    # A taken name gets a free one: the visitor can neither overwrite nor probe.
    assert dav.request("PUT", "/schon da.txt", b"neu").status_code == 201
    assert factories.read(svc, anna, "Eingang/schon da.txt") == b"old\n"
    assert factories.read(svc, anna, "Eingang/schon da (2).txt") == b"neu"
    assert factories.read(svc, anna, "Eingang/Antrag.pdf") == b"%PDF"
    assert set(dav.propfind("/")) == {dav.root + "/"}
    assert dav.request("PROPFIND", "/Antrag.pdf", Depth="0").status_code == 404
    assert dav.request("GET", "/Antrag.pdf").status_code == 404
    assert dav.request("GET", "/").status_code == 404
    assert dav.request("PUT", "/sub/x.txt", b"x").status_code == 404
    for method in ("MKCOL", "DELETE", "PROPPATCH", "LOCK", "MOVE", "COPY"):
        assert dav.request(method, "/neu").status_code == 403, method
    with svc.db.read() as s:
        drops = s.query(AuditEvent).filter(AuditEvent.action == "link.drop").all()
        recorded = {d.target: json.loads(d.detail)["size"] for d in drops}
    assert recorded == {"/Eingang/Antrag.pdf": 4, "/Eingang/schon da (2).txt": 3}


def test_a_file_link_is_the_file_at_the_root(
    svc: Services, anna: Principal, client: Client, form: str
) -> None:
    dav = Public(client, link(svc, anna, "Einzeln.pdf").token, form)
    found = dav.propfind("/", depth="1")
    assert list(found) == [dav.root]
    assert found[dav.root]["{DAV:}getcontentlength"] == (200, str(len(TREE["Einzeln.pdf"] or b"")))
    r = dav.request("GET", "/")
    assert r.status_code == 200 and r.content == TREE["Einzeln.pdf"]
    assert dav.request("GET", "/x").status_code == 404


def test_password_links_want_the_password(
    svc: Services, anna: Principal, client: Client, form: str
) -> None:
    token = link(svc, anna, "Akten", password="richtig-und-lang").token
    good = Public(client, token, form, "richtig-und-lang")
    assert set(good.propfind("/")) >= {good.root + "/"}
    wrong = Public(client, token, form, "falsch")
    r = wrong.request("PROPFIND", "/", Depth="0")
    assert r.status_code == 401 and "Basic" in r.headers["www-authenticate"]
    bare = client.request("PROPFIND", Public(client, token, form).url("/"), headers={"Depth": "0"})
    assert bare.status_code == 401


def test_expired_and_unknown_links_are_404_in_both_trees(
    svc: Services, anna: Principal, client: Client, form: str
) -> None:
    info = link(svc, anna, "Akten", expires_at=utcnow() + timedelta(hours=1))
    dav = Public(client, info.token, form)
    assert dav.request("PROPFIND", "/", Depth="0").status_code == 207
    set_link(svc, info.id, expires_at=utcnow() - timedelta(seconds=1))
    assert dav.request("PROPFIND", "/", Depth="0").status_code == 404
    assert dav.request("GET", "/leer.txt").status_code == 404
    unknown = Public(client, "Z" * len(info.token), form)
    assert unknown.request("PROPFIND", "/", Depth="0").status_code == 404


def test_downloads_through_dav_count_against_the_limit(
    svc: Services, anna: Principal, client: Client
) -> None:
    info = link(svc, anna, "Akten", max_downloads=1)
    dav = Public(client, info.token, "webdav")
    assert dav.request("PROPFIND", "/", Depth="1").status_code == 207  # a listing is free
    assert dav.request("GET", "/leer.txt").status_code == 200
    assert dav.request("GET", "/leer.txt").status_code == 404
    assert dav.request("PROPFIND", "/", Depth="0").status_code == 404


def test_the_public_tree_has_only_its_two_forms(
    svc: Services, anna: Principal, client: Client
) -> None:
    assert client.get("/public.php/other").status_code == 404
    assert client.request("OPTIONS", f"{FILES}/").status_code == 200
    assert client.request("PROPFIND", f"{FILES}/").status_code == 404


# -- rclone against a real server ----------------------------------------------------


@pytest.fixture
def _fast(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """As in conftest, but not for the live server's tests (no ``svc`` of their own)."""
    if "live" in request.fixturenames:
        return
    svc: Services = request.getfixturevalue("svc")
    use_cheap_password_hashing(monkeypatch)
    skip_fsync(monkeypatch, svc.db.engine)


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[tuple[LiveServer, Services]]:
    with start_server(tmp_path / "server", database_url) as server:
        svc = build_services(Settings(data_dir=server.data_dir, database_url=database_url))
        try:
            yield server, svc
        finally:
            svc.close()


@pytest.mark.parametrize("password", ["", "richtig-und-lang"])
def test_rclone_lists_and_copies_a_read_link(
    live: tuple[LiveServer, Services], tmp_path: Path, password: str
) -> None:
    server, svc = live
    anna = factories.user(svc, "anna@lauscha")
    make_tree(svc, anna, TREE)
    token = svc.sharing.create_link(
        anna, factories.loc(svc, anna, "Akten"), password=password or None
    ).token
    rclone = require("rclone")
    args = ["--webdav-url", f"{server.url}/public.php/webdav", "--webdav-user", token]
    if password:
        obscured = subprocess.run(
            [rclone, "obscure", password], capture_output=True, text=True, check=True
        ).stdout.strip()
        args += ["--webdav-pass", obscured]
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "RCLONE_CONFIG": str(tmp_path / "rc")}
    ls = subprocess.run(
        [rclone, "lsf", "-R", ":webdav:", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert ls.returncode == 0, ls.stderr
    expected = {p[len("Akten/") :] for p in TREE if p.startswith("Akten/") and p != "Akten/"}
    assert set(ls.stdout.splitlines()) == expected
    local = tmp_path / "kopie"
    cp = subprocess.run(
        [rclone, "copy", ":webdav:", str(local), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert cp.returncode == 0, cp.stderr
    for path, data in TREE.items():
        if path.startswith("Akten/") and data is not None:
            got = (local / path[len("Akten/") :]).read_bytes()
            assert sha(got) == sha(data), path
