"""The unmodified Nextcloud desktop client (nextcloudcmd 3.7) against ThVC."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.clients.conftest import (
    PASSWORD,
    SMALL_CHUNKS,
    USER,
    client_args,
    client_env,
    files_in,
    make_tree,
    require,
    run_client,
    tree,
)
from tests.common.server import LiveServer

pytestmark = pytest.mark.slow
TOOL = "nextcloudcmd"
DAV = f"/remote.php/dav/files/{USER}"


def fileid(server: LiveServer, path: str) -> str:
    body = (
        '<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">'
        "<d:prop><oc:fileid/></d:prop></d:propfind>"
    )
    r = httpx.request(
        "PROPFIND",
        f"{server.url}{DAV}/{path}",
        content=body,
        headers={"Depth": "0"},
        auth=(USER, PASSWORD),
    )
    assert r.status_code == 207, r.text
    return r.text.split("<oc:fileid>")[1].split("</oc:fileid>")[0]


def test_a_300_file_tree_syncs_up_and_down_byte_identical(
    sync_server: LiveServer, tmp_path: Path
) -> None:
    up, down = tmp_path / "up", tmp_path / "down"
    make_tree(up)
    run_client(TOOL, up, sync_server)
    # The 300 MiB file went up in chunks, through the upload collection.
    assert sync_server.requests("MOVE", "/remote.php/dav/uploads/") >= 1
    down.mkdir()
    run_client(TOOL, down, sync_server)
    expected = tree(up)
    assert len([v for v in expected.values() if v != "dir"]) == 300
    assert tree(down) == expected


def test_changes_propagate_both_ways_and_a_rename_is_a_move(
    sync_server: LiveServer, tmp_path: Path
) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    make_tree(a, files=20, big_mib=0)
    run_client(TOOL, a, sync_server)
    b.mkdir()
    run_client(TOOL, b, sync_server)
    victim = files_in(a / "Ämter")[0]
    renamed = victim.with_name("umbenannt " + victim.name)
    before = fileid(sync_server, f"Ämter/{victim.name}")
    # Client side: edit, rename, delete, new folder.
    edited = files_in(a)[0]
    edited.write_bytes(b"neuer Inhalt\n")
    victim.rename(renamed)
    gone = files_in(a / "Projekte 2026")[0]
    gone.unlink()
    (a / "Neuer Ordner").mkdir()
    (a / "Neuer Ordner" / "notiz.txt").write_text("hallo")
    run_client(TOOL, a, sync_server)
    # The rename reached the server as a MOVE: the file keeps its id.
    assert fileid(sync_server, f"Ämter/{renamed.name}") == before
    run_client(TOOL, b, sync_server)
    assert tree(b) == tree(a)
    # Server side (through b): edit and rename come back down to a.
    (b / "Neuer Ordner" / "notiz.txt").write_text("geändert auf b")
    inode = (a / "Ämter" / renamed.name).stat().st_ino
    (b / "Ämter" / renamed.name).rename(b / "Ämter" / ("zurück " + renamed.name))
    run_client(TOOL, b, sync_server)
    run_client(TOOL, a, sync_server)
    assert tree(a) == tree(b)
    # Detected as a move by file id: the local file was renamed, not downloaded again.
    assert (a / "Ämter" / ("zurück " + renamed.name)).stat().st_ino == inode


def test_a_file_changed_on_both_sides_keeps_both_contents(
    sync_server: LiveServer, tmp_path: Path
) -> None:
    a = tmp_path / "a"
    a.mkdir()
    (a / "bericht.txt").write_text("Fassung 1\n")
    run_client(TOOL, a, sync_server)
    time.sleep(1.1)  # distinct mtimes
    r = httpx.put(
        f"{sync_server.url}{DAV}/bericht.txt", content=b"Fassung Server\n", auth=(USER, PASSWORD)
    )
    assert r.status_code == 204
    (a / "bericht.txt").write_text("Fassung lokal\n")
    run_client(TOOL, a, sync_server)
    contents = {p.read_text() for p in a.iterdir() if p.name.startswith("bericht")}
    assert {"Fassung Server\n", "Fassung lokal\n"} <= contents
    assert any("conflict" in p.name.lower() for p in a.iterdir())


def test_an_interrupted_chunked_upload_resumes_with_the_chunks_already_stored(
    sync_server: LiveServer, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    local.mkdir()
    big = local / "gross.bin"
    with big.open("wb") as fh:
        for _ in range(200):
            fh.write(os.urandom(1 << 20))
    argv = [require(TOOL), *client_args(TOOL), str(local), sync_server.url]
    env = client_env(tmp_path, SMALL_CHUNKS)
    proc = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    deadline = time.monotonic() + 300
    while sync_server.requests("PUT", "/remote.php/dav/uploads/") < 3:
        assert proc.poll() is None, "the client finished before it could be interrupted"
        assert time.monotonic() < deadline, "no chunk was uploaded"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
    first_run = sync_server.requests("PUT", "/remote.php/dav/uploads/")
    r = httpx.request(
        "PROPFIND",
        f"{sync_server.url}{DAV}/gross.bin",
        auth=(USER, PASSWORD),
        headers={"Depth": "0"},
    )
    assert r.status_code == 404  # nothing half-written became visible
    run_client(TOOL, local, sync_server, env=SMALL_CHUNKS)
    second_run = sync_server.requests("PUT", "/remote.php/dav/uploads/") - first_run
    total_chunks = first_run + second_run
    assert second_run < total_chunks, "every chunk was uploaded again"
    down = tmp_path / "down"
    down.mkdir()
    run_client(TOOL, down, sync_server)
    assert tree(down) == tree(local)
