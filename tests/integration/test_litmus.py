"""The real litmus 0.13 against a running ThVC: WebDAV class 1 compliance (issue 3, §8).

The locks suite belongs to class 2 (issue 4) and is not run here.
"""

from __future__ import annotations

import pytest

from tests.common.litmus import run_litmus
from tests.common.server import LiveServer
from tests.integration.support import ANNA, ANNA_PASSWORD, account, files

SUITES = ("basic", "copymove", "props", "http")


@pytest.mark.litmus
def test_litmus_basic_copymove_props_and_http_pass_against_a_users_files(
    server: LiveServer, tmp_path
) -> None:
    account(server, ANNA, ANNA_PASSWORD)
    url = f"{server.url}{files(ANNA)}"

    result = run_litmus(url, ANNA, ANNA_PASSWORD, SUITES, timeout=300, log_dir=tmp_path / "litmus")

    assert result.ok, str(result)
    assert [s.name for s in result.suites] == list(SUITES), str(result)
