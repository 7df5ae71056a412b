"""Real tus clients against a real server: tuspy (Python) and tus-js-client (Node).

Both are interrupted part-way, the server is restarted (the upload's state is in
the database only), and they resume from the server's offset; what arrives is
compared byte for byte with what was sent. A missing tool fails these tests:
``make test`` installs Node (``make system-deps``) and tests/js/node_modules
(``npm ci``); tuspy is pinned in requirements.lock.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from tusclient.client import TusClient

from tests.common.server import LiveServer

USER = "anna@lauscha"
PASSWORD = "anna-tus-password-1"
MIB = 1 << 20
JS_DIR = Path(__file__).resolve().parents[1] / "js"
SCRIPT = JS_DIR / "tus_upload.mjs"


def basic(login: str = USER, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{login}:{password}".encode()).decode()


def endpoint(server: LiveServer) -> str:
    return f"{server.url}/api/v1/uploads/"


def random_file(path: Path, size: int) -> str:
    """``size`` random bytes written 1 MiB at a time (never held whole); their sha256."""
    digest = hashlib.sha256()
    with path.open("wb") as fh:
        left = size
        while left:
            piece = os.urandom(min(MIB, left))
            digest.update(piece)
            fh.write(piece)
            left -= len(piece)
    return digest.hexdigest()


def fetched(server: LiveServer, path: str) -> tuple[int, str]:
    """(size, sha256) of ``/dav/files/USER/path`` as GET streams it."""
    digest = hashlib.sha256()
    size = 0
    with (
        httpx.Client(auth=(USER, PASSWORD), timeout=300) as http,
        http.stream("GET", f"{server.url}/dav/files/{USER}/{path}") as r,
    ):
        assert r.status_code == 200, r.read()
        for piece in r.iter_bytes(MIB):
            digest.update(piece)
            size += len(piece)
    return size, digest.hexdigest()


def offset_of(url: str) -> int:
    r = httpx.head(url, headers={"Authorization": basic(), "Tus-Resumable": "1.0.0"})
    assert r.status_code == 200, r.text
    return int(r.headers["Upload-Offset"])


# -- tuspy ---------------------------------------------------------------------------


@pytest.mark.slow
def test_tuspy_uploads_500_mib_across_a_server_restart(server: LiveServer, tmp_path: Path) -> None:
    server.user(USER, PASSWORD)
    size = 500 * MIB
    source = tmp_path / "big.bin"
    sent = random_file(source, size)
    client = TusClient(endpoint(server), headers={"Authorization": basic()})
    chunk = 32 * MIB
    stop = 7 * chunk - 12_345  # part-way, and not on a chunk boundary
    with source.open("rb") as fh:
        first = client.uploader(
            file_stream=fh,
            chunk_size=chunk,
            metadata={"filename": "big.bin"},
            upload_checksum=True,  # sha1 of every chunk: the checksum extension
        )
        first.upload(stop_at=stop)
        url = first.url
    assert url is not None and url.startswith(endpoint(server))
    assert offset_of(url) == stop
    # The power goes; the client is gone too. Only the URL is left, and the database.
    server.kill()
    server.start()
    with source.open("rb") as fh:
        resumed = client.uploader(file_stream=fh, url=url, chunk_size=chunk, upload_checksum=True)
        assert resumed.offset == stop  # from the server's HEAD
        resumed.upload()
    assert fetched(server, "big.bin") == (size, sent)
    # Bodies of 32 MiB stream through 1 MiB pieces (the budget of test_big_transfer.py).
    peak = server.peak_rss_kib()
    assert 0 < peak < 150 * 1024, f"peak RSS {peak / 1024:.1f} MiB"
    r = httpx.head(url, headers={"Authorization": basic(), "Tus-Resumable": "1.0.0"})
    assert r.status_code == 404  # finished uploads are gone
    assert server.cli("fsck").stdout.strip().endswith("fsck: clean")


def test_tuspy_small_upload_with_checksums(server: LiveServer, tmp_path: Path) -> None:
    server.user(USER, PASSWORD)
    source = tmp_path / "small.bin"
    sent = random_file(source, 3 * MIB + 17)
    client = TusClient(endpoint(server), headers={"Authorization": basic()})
    with source.open("rb") as fh:
        uploader = client.uploader(
            file_stream=fh, chunk_size=MIB, metadata={"filename": "small.bin"}, upload_checksum=True
        )
        uploader.upload(stop_at=MIB)
        url = uploader.url
    with source.open("rb") as fh:
        again = client.uploader(file_stream=fh, url=url, chunk_size=MIB, upload_checksum=True)
        assert again.offset == MIB
        again.upload()
    assert fetched(server, "small.bin") == (3 * MIB + 17, sent)


# -- tus-js-client -------------------------------------------------------------------------


def _install_js() -> None:
    """``npm ci`` in tests/js unless node_modules is there (once, across xdist workers)."""
    npm = shutil.which("npm")
    assert npm, "npm is missing: install Debian's nodejs and npm (make system-deps)"
    lock = Path(tempfile.gettempdir()) / "thvc-tests-js-npm-ci.lock"
    with lock.open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        if not (JS_DIR / "node_modules" / "tus-js-client" / "package.json").exists():
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(JS_DIR)],
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert proc.returncode == 0, f"npm ci failed:\n{proc.stdout}\n{proc.stderr}"


RunJs = Callable[..., dict[str, Any]]


@pytest.fixture
def tus_js(server: LiveServer) -> RunJs:
    """Run tests/js/tus_upload.mjs against ``server``; its JSON report."""
    node = shutil.which("node")
    assert node, "node is missing: install Debian's nodejs (make system-deps)"
    _install_js()

    def run(*args: str, auth: str | None = None) -> dict[str, Any]:
        cmd = [node, str(SCRIPT), "--endpoint", endpoint(server), "--auth", auth or basic()]
        proc = subprocess.run(
            [*cmd, *args], capture_output=True, text=True, timeout=300, cwd=JS_DIR
        )
        lines = proc.stdout.strip().splitlines()
        assert lines, f"no report from tus_upload.mjs (exit {proc.returncode}):\n{proc.stderr}"
        report: dict[str, Any] = json.loads(lines[-1])
        assert (proc.returncode == 0) == (report["status"] != "error"), (proc, report)
        return report

    return run


def test_tus_js_client_resumes_after_an_interruption_and_a_restart(
    server: LiveServer, tus_js: RunJs, tmp_path: Path
) -> None:
    server.user(USER, PASSWORD)
    token = server.cli("user", "app-password", "create", USER, "uppy").stdout.strip()
    source = tmp_path / "Bericht.pdf"
    size = 6 * MIB + 1234
    sent = random_file(source, size)
    common = ["--file", str(source), "--chunk-size", str(MIB)]
    common += ["--url-storage", str(tmp_path / "tus-urls.json")]
    bearer = f"Bearer {token}"
    first = tus_js(*common, "--stop-after", str(5 * MIB // 2), auth=bearer)
    assert first["status"] == "stopped", first
    assert not first["resumed"]
    assert offset_of(first["url"]) == 3 * MIB  # whole chunks, as acknowledged
    server.stop()
    server.start()
    second = tus_js(*common, auth=bearer)
    assert second == {"status": "done", "url": first["url"], "offset": size, "resumed": True}
    assert fetched(server, "Bericht.pdf") == (size, sent)


def test_tus_js_client_creation_with_upload_into_a_folder(
    server: LiveServer, tus_js: RunJs, tmp_path: Path
) -> None:
    server.user(USER, PASSWORD)
    with httpx.Client(auth=(USER, PASSWORD)) as http:
        for folder in ("Ämter", "Ämter/2026"):
            r = http.request("MKCOL", f"{server.url}/dav/files/{USER}/{folder}")
            assert r.status_code == 201, r.text
    source = tmp_path / "plan.bin"
    sent = random_file(source, 2 * MIB + 5)
    report = tus_js(
        "--file",
        str(source),
        "--chunk-size",
        str(MIB),
        "--with-upload",
        "--folder",
        "Ämter/2026",
        "--name",
        "Straßenplan.bin",
    )
    assert report["status"] == "done", report
    assert fetched(server, "Ämter/2026/Straßenplan.bin") == (2 * MIB + 5, sent)


def test_tus_js_client_reports_a_checksum_mismatch(
    server: LiveServer, tus_js: RunJs, tmp_path: Path
) -> None:
    server.user(USER, PASSWORD)
    source = tmp_path / "c.bin"
    random_file(source, MIB)
    report = tus_js("--file", str(source), "--chunk-size", str(MIB // 4), "--bad-checksum")
    assert report["status"] == "error"
    assert report["httpStatus"] == 460, report
    assert offset_of(report["url"]) == 0  # the part was discarded
    r = httpx.get(f"{server.url}/dav/files/{USER}/c.bin", auth=(USER, PASSWORD))
    assert r.status_code == 404


def test_tus_js_client_is_refused_without_credentials(
    server: LiveServer, tus_js: RunJs, tmp_path: Path
) -> None:
    server.user(USER, PASSWORD)
    source = tmp_path / "x.bin"
    random_file(source, 1000)
    report = tus_js("--file", str(source), auth=basic(USER, "wrong-password"))
    assert report["status"] == "error"
    assert report["httpStatus"] == 401
