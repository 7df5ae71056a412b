"""Big transfers, encryption at rest and tenant isolation (issue 3, §5, §6, Acceptance 3)."""

from __future__ import annotations

import hashlib
import uuid

import pytest

from tests.common.server import LiveServer
from tests.integration.support import (
    ANNA,
    ANNA_PASSWORD,
    BEN,
    BEN_PASSWORD,
    MiB,
    account,
    client,
    download_sha256,
    files,
    files_containing,
    propfind,
    random_body,
    sqlite_files,
)

GiB = 1 << 30
RSS_LIMIT_KIB = 150 * 1024


@pytest.mark.slow
def test_one_gib_put_comes_back_identical_while_the_server_stays_under_150_mib(
    server: LiveServer,
) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    sent = hashlib.sha256()
    with client(server, ANNA, ANNA_PASSWORD, timeout=300) as anna:
        # As curl sends it: a Content-Length, and the body streamed.
        r = anna.put(
            files(ANNA, "big.bin"),
            content=random_body(GiB, sent),
            headers={"Content-Length": str(GiB)},
        )
        assert r.status_code == 201, r.text

        status, received, size = download_sha256(anna, files(ANNA, "big.bin"))

    assert status == 200
    assert size == GiB
    assert received == sent.hexdigest()
    peak = server.peak_rss_kib()
    assert 0 < peak < RSS_LIMIT_KIB, f"peak RSS {peak / 1024:.1f} MiB, limit 150 MiB"


def test_no_plaintext_of_a_file_reaches_the_data_directory_or_the_database(
    server: LiveServer,
) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    marker = f"THVC-PLAINTEXT-MARKER-{uuid.uuid4()}".encode()
    content = (marker * (64 * 1024 // len(marker) + 1))[: 64 * 1024]
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.put(files(ANNA, "marker.txt"), content=content).status_code == 201
        # An overwrite keeps the first content as a version: that must be encrypted too.
        assert anna.put(files(ANNA, "marker.txt"), content=content + b"2").status_code == 204
        r = anna.get(files(ANNA, "marker.txt"))
        assert r.status_code == 200
        assert r.content == content + b"2"

    roots = [server.data_dir, *sqlite_files(server.database_url)]
    assert server.data_dir.is_dir()
    assert any((server.data_dir / "blobs").rglob("*")), "no blob was written at all"
    leaks = files_containing(roots, marker)
    assert leaks == [], f"plaintext marker found in {leaks}"
    # The search itself works: it finds the marker in a file that does hold it.
    probe = server.data_dir.parent / "probe.txt"
    probe.write_bytes(b"x" * (4 * MiB - 10) + marker)  # straddles the first block boundary
    assert files_containing([probe], marker) == [probe]


def test_another_tenants_user_gets_404_for_everything_of_anna_and_learns_nothing(
    server: LiveServer,
) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    account(server, BEN, BEN_PASSWORD)
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.put(files(ANNA, "big.bin"), content=b"anna's data").status_code == 201
        assert anna.request("MKCOL", files(ANNA, "akten/")).status_code == 201
        assert anna.put(files(ANNA, "akten/a.txt"), content=b"in the folder").status_code == 201

    with client(server, BEN, BEN_PASSWORD) as ben:
        attempts = [
            ("GET", "big.bin", {}),
            ("GET", "akten/", {}),
            ("GET", "akten/a.txt", {}),
            ("HEAD", "big.bin", {}),
            ("PROPFIND", "", {"Depth": "1"}),
            ("PROPFIND", "big.bin", {"Depth": "0"}),
            ("PROPFIND", "akten/", {"Depth": "1"}),
            ("PUT", "akten/ben.txt", {}),
            ("PUT", "big.bin", {}),
            ("MKCOL", "akten/sub/", {}),
            ("DELETE", "big.bin", {}),
            ("DELETE", "akten/", {}),
            ("PROPPATCH", "big.bin", {}),
        ]
        for method, path, headers in attempts:
            content = b"ben was here" if method == "PUT" else None
            r = ben.request(method, files(ANNA, path), headers=headers, content=content)
            assert r.status_code == 404, f"{method} {path}: {r.status_code} {r.text}"

        # MOVE/COPY of anna's things into ben's tree, and of ben's into anna's.
        assert ben.put(files(BEN, "own.txt"), content=b"ben").status_code == 201
        dest = {"Destination": f"{server.url}{files(BEN, 'stolen.bin')}"}
        for method in ("MOVE", "COPY"):
            r = ben.request(method, files(ANNA, "big.bin"), headers=dest)
            assert r.status_code == 404, f"{method} from anna: {r.status_code} {r.text}"
        dest = {"Destination": f"{server.url}{files(ANNA, 'akten/planted.txt')}"}
        for method in ("COPY", "MOVE"):
            r = ben.request(method, files(BEN, "own.txt"), headers=dest)
            assert r.status_code == 404, f"{method} into anna: {r.status_code} {r.text}"

        # An existing and a missing path of anna's, and a login that does not exist,
        # all look the same to ben.
        def answer(path: str, method: str = "GET") -> tuple[int, bytes, dict[str, str]]:
            r = ben.request(method, path, headers={"Depth": "0"})
            headers = {k: v for k, v in r.headers.items() if k.lower() != "date"}
            return r.status_code, r.content, headers

        for method in ("GET", "PROPFIND", "DELETE"):
            existing_file = answer(files(ANNA, "big.bin"), method)
            existing_dir = answer(files(ANNA, "akten/"), method)
            missing = answer(files(ANNA, "nothing-here.bin"), method)
            nobody = answer(files("nobody@lauscha", "big.bin"), method)
            assert existing_file[0] == 404
            assert existing_file == missing == existing_dir == nobody, method

    # Nothing of anna's changed, and nothing of ben's arrived.
    with client(server, ANNA, ANNA_PASSWORD) as anna:
        assert anna.get(files(ANNA, "big.bin")).content == b"anna's data"
        assert anna.get(files(ANNA, "akten/a.txt")).content == b"in the folder"
        hrefs = propfind(anna, files(ANNA, "akten/"))
        assert sorted(h.rpartition("/akten/")[2] for h in hrefs) == ["", "a.txt"]
        names = propfind(anna, files(ANNA))
        assert not any("planted" in h or "ben" in h for h in names), names
