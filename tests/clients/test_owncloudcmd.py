"""The unmodified ownCloud client (owncloudcmd 2.11) against ThVC."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clients.conftest import files_in, make_tree, run_client, tree
from tests.common.server import LiveServer

pytestmark = pytest.mark.slow
TOOL = "owncloudcmd"


def test_a_tree_syncs_up_and_down_and_changes_round_trip(
    sync_server: LiveServer, tmp_path: Path
) -> None:
    up, down = tmp_path / "up", tmp_path / "down"
    make_tree(up, files=120, big_mib=60)
    run_client(TOOL, up, sync_server)
    down.mkdir()
    run_client(TOOL, down, sync_server)
    assert tree(down) == tree(up)
    # A round trip of changes.
    first = files_in(up)[0]
    first.write_bytes(b"changed by owncloudcmd\n")
    (up / "Neu").mkdir()
    (up / "Neu" / "x.txt").write_text("x")
    files_in(up / "Ämter")[0].unlink()
    run_client(TOOL, up, sync_server)
    run_client(TOOL, down, sync_server)
    assert tree(down) == tree(up)
