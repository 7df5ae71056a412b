"""Acceptance, against a real ``thvc serve``: a password-protected link with an expiry.

Wrong passwords are throttled; the right one downloads the folder as a ZIP whose
contents are byte-identical to the originals; after expiry, 404. The owner's
files go up over WebDAV and the link is made through the sharing core on the
server's own database and keys (there is no link API yet); the visitor's side
is plain HTTP, as curl would send it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.common import factories
from tests.common.server import LiveServer, start_server
from tests.web.conftest import TREE, set_link
from tests.web.support import csrf_of, multipart, sha, zip_digests
from thvc.accounts.services import principal_of
from thvc.db.types import utcnow
from thvc.services import Services, build_services
from thvc.settings import Settings
from thvc.sharing.models import LinkKind

OWNER = "anna@lauscha"
OWNER_PASSWORD = "anna-owner-password-1"
LINK_PASSWORD = "Haushalt-2026-vertraulich"


@pytest.fixture
def _fast() -> None:
    """The real server hashes and syncs for real."""


@pytest.fixture
def live(tmp_path: Path, database_url: str) -> Iterator[tuple[LiveServer, Services]]:
    with start_server(tmp_path / "server", database_url, log_level="info") as server:
        svc = build_services(Settings(data_dir=server.data_dir, database_url=database_url))
        try:
            yield server, svc
        finally:
            svc.close()


def upload_tree(server: LiveServer) -> None:
    server.user(OWNER, OWNER_PASSWORD)
    base = f"{server.url}/remote.php/dav/files/{OWNER}/"
    with httpx.Client(auth=(OWNER, OWNER_PASSWORD), timeout=30) as dav:
        for path, data in TREE.items():
            if data is None:
                r = dav.request("MKCOL", base + path.rstrip("/"))
            else:
                r = dav.put(base + path, content=data)
            assert r.status_code == 201, (path, r.status_code, r.text)


def test_a_password_link_with_an_expiry_throttles_downloads_then_expires(
    live: tuple[LiveServer, Services],
) -> None:
    server, svc = live
    upload_tree(server)
    with svc.db.read() as s:
        anna = principal_of(svc.accounts.get_user(s, OWNER))
    info = svc.sharing.create_link(
        anna,
        factories.loc(svc, anna, "Akten"),
        password=LINK_PASSWORD,
        expires_at=utcnow() + timedelta(days=7),
    )
    token = info.token
    page_url = f"{server.url}/s/{token}"
    zip_url = f"{page_url}/download"

    # A browser: the page asks for the password, and the right one opens it.
    with httpx.Client(timeout=30) as browser:
        form = browser.get(page_url)
        assert form.status_code == 401
        done = browser.post(page_url, data={"csrf": csrf_of(form), "password": LINK_PASSWORD})
        assert done.status_code == 303
        assert browser.get(page_url).status_code == 200

    # Wrong passwords: refused, then throttled with Retry-After.
    statuses: list[int] = []
    retry_after = 0
    for _ in range(server_free_failures() + 2):
        r = httpx.get(zip_url, auth=(token, "falsch"), timeout=30)
        statuses.append(r.status_code)
        if r.status_code == 429:
            retry_after = int(r.headers["retry-after"])
            break
        assert r.status_code == 401
    assert statuses[-1] == 429, statuses
    assert 1 <= retry_after <= 900

    # Once the wait is over, the right password downloads the folder as a ZIP.
    time.sleep(retry_after + 0.2)
    with httpx.stream("GET", zip_url, auth=(token, LINK_PASSWORD), timeout=60) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"] == "application/zip"
        body = b"".join(r.iter_bytes())
    assert len(body) == int(r.headers["content-length"])
    expected = {"Akten/": "dir"}
    for path, data in TREE.items():
        if path.startswith("Akten/") and path != "Akten/":
            expected[path] = "dir" if data is None else sha(data)
    assert zip_digests(body) == expected

    # After the expiry: 404 for the page, the download and public WebDAV alike.
    set_link(svc, info.id, expires_at=utcnow() - timedelta(seconds=1))
    assert httpx.get(page_url, timeout=30).status_code == 404
    assert httpx.get(zip_url, auth=(token, LINK_PASSWORD), timeout=30).status_code == 404
    dav = httpx.request(
        "PROPFIND",
        f"{server.url}/public.php/webdav/",
        auth=(token, LINK_PASSWORD),
        headers={"Depth": "0"},
        timeout=30,
    )
    assert dav.status_code == 404

    # The access log never holds the token whole.
    server.stop()
    log = server.log.read_text(errors="replace")
    assert f"/s/{token[:6]}…" in log
    assert token not in log


def server_free_failures() -> int:
    return int(Settings.model_fields["login_free_failures"].default)


def test_a_drop_through_the_real_server_streams_several_megabytes(
    live: tuple[LiveServer, Services],
) -> None:
    server, svc = live
    upload_tree(server)
    with svc.db.read() as s:
        anna = principal_of(svc.accounts.get_user(s, OWNER))
    token = svc.sharing.create_link(
        anna, factories.loc(svc, anna, "Eingang"), kind=LinkKind.DROP
    ).token
    big = bytes(range(256)) * (12 * 4096 + 7)  # 12 MiB and a bit, in many server chunks
    with httpx.Client(timeout=60) as browser:
        page = browser.get(f"{server.url}/s/{token}")
        body, headers = multipart(
            [("csrf", csrf_of(page)), ("uploader", "Amt für Statistik")],
            [(b"Erhebung.bin", big), (b"schon da.txt", b"neu\n")],
        )
        r = browser.post(f"{server.url}/s/{token}", content=body, headers=headers)
        assert r.status_code == 303, r.text
        after = browser.get(f"{server.url}{r.headers['location']}")
    assert "Erhebung.bin" in after.text and "schon da (2).txt" in after.text
    assert sha(factories.read(svc, anna, "Eingang/Erhebung.bin")) == sha(big)
    assert factories.read(svc, anna, "Eingang/schon da.txt") == b"old\n"
