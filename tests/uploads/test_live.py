"""A real server: 64 MiB in 10 MiB chunks over a socket, streamed both ways."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest

from tests.common.server import LiveServer

USER = "anna@lauscha"
PASSWORD = "anna-upload-password-1"
MIB = 1 << 20
SIZE = 64 * MIB
CHUNK = 10 * MIB


def random_bytes(seed: bytes, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``[start, end)`` of a deterministic pseudo-random stream, 1 MiB at a time."""
    assert start % MIB == 0
    for block in range(start // MIB, (end + MIB - 1) // MIB):
        out = bytearray()
        counter = 0
        while len(out) < MIB:
            out += hashlib.sha512(
                seed + block.to_bytes(8, "big") + counter.to_bytes(8, "big")
            ).digest()
            counter += 1
        lo = max(start, block * MIB) - block * MIB
        hi = min(end, (block + 1) * MIB) - block * MIB
        yield bytes(out[lo:hi])


@pytest.mark.slow
def test_a_64_mib_chunked_upload_arrives_intact(server: LiveServer) -> None:
    server.user(USER, PASSWORD)
    base = f"{server.url}/remote.php/dav/uploads/{USER}/live-transfer"
    dst = f"{server.url}/remote.php/dav/files/{USER}/big.bin"
    sent = hashlib.sha256()
    with httpx.Client(auth=(USER, PASSWORD), timeout=120) as http:
        r = http.request("MKCOL", base, headers={"OC-Total-Length": str(SIZE), "Destination": dst})
        assert r.status_code == 201, r.text
        for n, start in enumerate(range(0, SIZE, CHUNK), 1):
            end = min(SIZE, start + CHUNK)
            for piece in random_bytes(b"live", start, end):
                sent.update(piece)
            # A generator body: sent with chunked transfer encoding, never held whole.
            r = http.put(
                f"{base}/{n:05d}",
                content=random_bytes(b"live", start, end),
                headers={"OC-Total-Length": str(SIZE), "Destination": dst},
            )
            assert r.status_code == 201, r.text
        r = http.request("PROPFIND", base, headers={"Depth": "1"})
        assert r.status_code == 207 and r.text.count("<d:response>") == 8
        r = http.request(
            "MOVE",
            f"{base}/.file",
            headers={"Destination": dst, "OC-Total-Length": str(SIZE), "X-OC-Mtime": "1700000000"},
        )
        assert r.status_code == 201, r.text
        assert r.headers["OC-FileId"] and r.headers["OC-ETag"]
        got = hashlib.sha256()
        size = 0
        with http.stream("GET", dst) as resp:
            assert resp.status_code == 200
            for piece in resp.iter_bytes(MIB):
                got.update(piece)
                size += len(piece)
    assert size == SIZE
    assert got.hexdigest() == sent.hexdigest()
    # Chunks stream: 10 MiB chunks cost the server no 10 MiB buffers (the budget
    # of tests/integration/test_big_transfer.py).
    peak = server.peak_rss_kib()
    assert 0 < peak < 150 * 1024, f"peak RSS {peak / 1024:.1f} MiB"
    # Nothing is left of the transfer, and the store is consistent.
    assert server.cli("fsck").stdout.strip().endswith("fsck: clean")
