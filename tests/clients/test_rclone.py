"""rclone's WebDAV backend in Nextcloud mode against ThVC."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import PASSWORD, USER, make_tree, require
from tests.common.server import LiveServer

pytestmark = pytest.mark.slow


def remote(server: LiveServer) -> str:
    obscured = subprocess.run(
        [require("rclone"), "obscure", PASSWORD], capture_output=True, text=True, check=True
    ).stdout.strip()
    url = f"{server.url}/remote.php/dav/files/{USER}/"
    return f":webdav,url='{url}',vendor=nextcloud,user='{USER}',pass='{obscured}':"


def test_rclone_sync_then_check_download_finds_no_difference(
    sync_server: LiveServer, tmp_path: Path
) -> None:
    local = tmp_path / "local"
    make_tree(local, files=150, big_mib=40)
    target = remote(sync_server) + "Ablage"
    sync = subprocess.run(
        [require("rclone"), "sync", str(local), target, "--transfers", "4"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert sync.returncode == 0, sync.stderr[-4000:]
    check = subprocess.run(
        [require("rclone"), "check", "--download", str(local), target],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert check.returncode == 0, check.stderr[-4000:]
    assert "0 differences found" in check.stderr
