"""The real litmus 0.13 against a running ThVC: WebDAV class 1 and 2 (issues 3 and 4).

All five suites, 0 failed and 0 skipped, on ThVC's own tree and on the tree
the Nextcloud clients use.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.common.litmus import run_litmus
from tests.common.server import LiveServer
from tests.integration.support import ANNA, ANNA_PASSWORD, account

SUITES = ("basic", "copymove", "props", "locks", "http")


@pytest.mark.litmus
@pytest.mark.parametrize("prefix", ["/dav/files", "/remote.php/dav/files"])
def test_all_five_litmus_suites_pass_against_a_users_files(
    server: LiveServer, tmp_path: Path, prefix: str
) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    url = f"{server.url}{prefix}/{ANNA}/"

    result = run_litmus(url, ANNA, ANNA_PASSWORD, SUITES, timeout=300, log_dir=tmp_path / "litmus")

    assert result.ok, str(result)
    assert [s.name for s in result.suites] == list(SUITES), str(result)
