"""Helpers for the integration tests: clients, streamed bodies, PROPFIND, raw HTTP, disk scans.

Everything here talks to a real ``thvc serve`` (tests/common/server.py) over the network.
Large bodies are generated and hashed while they stream; nothing holds a big file in memory.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote, unquote
from xml.etree import ElementTree as ET

import httpx
from sqlalchemy import select

from tests.common.server import LiveServer
from thvc.services import build_services
from thvc.settings import Settings
from thvc.tenants.models import Tenant

MiB = 1 << 20
CHUNK = MiB
DAV = "{DAV:}"

ANNA = "anna@lauscha"
ANNA_PASSWORD = "anna-password-4711"
BEN = "ben@suhl"
BEN_PASSWORD = "ben-password-0815"


def client(server: LiveServer, login: str, password: str, *, timeout: float = 60) -> httpx.Client:
    """A keep-alive client for ``login``; use it as a context manager."""
    return httpx.Client(base_url=server.url, auth=(login, password), timeout=timeout)


def files(login: str, path: str = "") -> str:
    """The WebDAV URL path of ``path`` (already percent-encoded) in ``login``'s tree."""
    return f"/dav/files/{login}/{path}"


def random_body(
    size: int,
    hasher: hashlib._Hash | None = None,
    *,
    chunk: int = CHUNK,
    signal_at: int | None = None,
    signal: threading.Event | None = None,
) -> Iterator[bytes]:
    """``size`` random bytes in ``chunk``-sized pieces, fed to ``hasher`` as they go.

    With ``signal_at``/``signal``: set the event once that many bytes have been handed
    to the transport (for killing the server in the middle of an upload).
    """
    sent = 0
    while sent < size:
        piece = os.urandom(min(chunk, size - sent))
        if hasher is not None:
            hasher.update(piece)
        yield piece
        sent += len(piece)
        if signal is not None and signal_at is not None and sent >= signal_at:
            signal.set()


def download_sha256(http: httpx.Client, url: str) -> tuple[int, str, int]:
    """GET ``url`` streaming; return (status, sha256 hex of the body, body length)."""
    h = hashlib.sha256()
    n = 0
    with http.stream("GET", url) as r:
        for piece in r.iter_raw(CHUNK):
            h.update(piece)
            n += len(piece)
        return r.status_code, h.hexdigest(), n


def propfind(http: httpx.Client, url: str, depth: str = "1") -> list[str]:
    """The hrefs (percent-decoded) of a PROPFIND; asserts 207."""
    r = http.request("PROPFIND", url, headers={"Depth": depth})
    assert r.status_code == 207, f"PROPFIND {url}: {r.status_code} {r.text}"
    root = ET.fromstring(r.content)
    return [unquote(h.text or "") for h in root.iter(f"{DAV}href")]


def children(http: httpx.Client, url: str) -> list[str]:
    """Names of the members of the folder ``url`` (which ends in ``/``)."""
    me = _nfc(unquote(url)).rstrip("/")
    names = []
    for href in propfind(http, url):
        if _nfc(href).rstrip("/") == me:
            continue
        names.append(href.rstrip("/").rpartition("/")[2])
    return names


def _nfc(text: str) -> str:
    # The folder asked for is recognised in either spelling; its members are reported as sent.
    return unicodedata.normalize("NFC", text)


def members(http: httpx.Client, url: str) -> dict[str, int | None]:
    """Members of the folder ``url``: name -> getcontentlength (None for a folder)."""
    r = http.request("PROPFIND", url, headers={"Depth": "1"})
    assert r.status_code == 207, f"PROPFIND {url}: {r.status_code} {r.text}"
    me = _nfc(unquote(url)).rstrip("/")
    out: dict[str, int | None] = {}
    for response in ET.fromstring(r.content).iter(f"{DAV}response"):
        href = unquote(response.findtext(f"{DAV}href") or "").rstrip("/")
        if _nfc(href) == me:
            continue
        length = response.find(f".//{DAV}getcontentlength")
        is_dir = response.find(f".//{DAV}resourcetype/{DAV}collection") is not None
        name = href.rpartition("/")[2]
        out[name] = None if is_dir or length is None else int(length.text or "0")
    return out


def account(
    server: LiveServer,
    login: str,
    password: str,
    *,
    quota: int | None = None,
    tenant_quota: int | None = None,
) -> None:
    """Create ``login`` (and its tenant if new) through the real services, in this process.

    The same core calls as ``thvc tenant create`` / ``thvc user create``, on the server's
    database with the server's master key, without the seconds an interpreter start of the
    CLI costs. Tests of the command line itself use ``server.cli``.
    """
    slug = login.rpartition("@")[2]
    settings = Settings(data_dir=server.data_dir, database_url=server.database_url)
    svc = build_services(settings)
    try:
        with svc.db.read() as s:
            exists = s.scalar(select(Tenant.id).where(Tenant.slug == slug)) is not None
        if not exists:
            svc.tenants.create(slug, slug.title(), quota_bytes=tenant_quota)
        svc.accounts.create_user(login, password, quota_bytes=quota)
    finally:
        svc.close()


def files_containing(roots: Iterable[Path], needle: bytes, *, block: int = 4 * MiB) -> list[Path]:
    """Every regular file under ``roots`` whose bytes contain ``needle``.

    Files are read in blocks with an overlap of ``len(needle) - 1`` bytes, so a match that
    straddles two blocks is found too; big files never sit in memory whole.
    """
    overlap = len(needle) - 1
    hits = []
    for root in roots:
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*"))
        for path in candidates:
            if not path.is_file() or path.is_symlink():
                continue
            tail = b""
            with path.open("rb") as fh:
                while piece := fh.read(block):
                    if needle in tail + piece:
                        hits.append(path)
                        break
                    tail = piece[-overlap:] if overlap else b""
    return hits


def sqlite_files(database_url: str) -> list[Path]:
    """The SQLite database file and its WAL/SHM companions, if the URL is SQLite."""
    if not database_url.startswith("sqlite"):
        return []
    db = Path(database_url.split(":///", 1)[1])
    return [p for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()]


def raw_request(port: int, head: bytes, body: bytes = b"", *, timeout: float = 10) -> bytes:
    """Send ``head`` (request line and headers, CRLF-terminated) plus ``body`` over a fresh
    socket and return everything the server answers until it closes or goes quiet."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        return _read_response(sock)


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            piece = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not piece:
            break
        data += piece
        if _complete(data):
            break
    return data


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def status_of(response: bytes) -> int:
    """The status code of a raw HTTP/1.1 response (the last one, after any 100 Continue)."""
    line = response.split(b"\r\n", 1)[0]
    return int(line.split()[1])


def basic(login: str, password: str) -> bytes:
    import base64

    return b"Basic " + base64.b64encode(f"{login}:{password}".encode())


def url_quote(name: str) -> str:
    return quote(name, safe="")


__all__ = [
    "ANNA",
    "ANNA_PASSWORD",
    "BEN",
    "BEN_PASSWORD",
    "MiB",
    "account",
    "basic",
    "children",
    "client",
    "download_sha256",
    "files",
    "files_containing",
    "members",
    "propfind",
    "random_body",
    "raw_request",
    "sqlite_files",
    "status_of",
    "url_quote",
]
