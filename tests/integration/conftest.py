"""Fixtures of the integration tests (the live ``server`` comes from tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.common.server import LiveServer, free_port


@pytest.fixture
def cli_only(tmp_path: Path, database_url: str) -> LiveServer:
    """A data directory and a fresh database for ``thvc`` commands, with no server running.

    For tests of the command line alone: starting a server costs seconds.
    """
    live = LiveServer(tmp_path / "server", database_url, free_port(), "")
    live.data_dir.mkdir(parents=True)
    return live
