"""Fixtures shared by the whole suite.

Every test gets its own data directory and a fresh migrated database on the
engine selected by ``THVC_TEST_DATABASE`` (see tests/common/databases.py), so
tests never see each other's data and run in parallel under pytest-xdist.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# The browser tests' hooks (the axe-core summary) must be known to the controller even
# when pytest is run without naming tests/browser, as `make test` does.
from tests.browser.conftest import (  # noqa: F401
    pytest_configure,
    pytest_terminal_summary,
    pytest_unconfigure,
)
from tests.common import databases
from tests.common.server import LiveServer, start_server
from thvc.services import Services, build_services
from thvc.settings import Settings


def _worker(request: pytest.FixtureRequest) -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    url = databases.fresh_database(tmp_path, _worker(request))
    yield url
    databases.drop_database(url)


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        segment_size=64 * 1024,
        auth_cache_seconds=300,
    )


@pytest.fixture
def svc(settings: Settings) -> Iterator[Services]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    services = build_services(settings)
    yield services
    services.close()


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[LiveServer]:
    """A real ``thvc serve`` process on a free loopback port, initialised."""
    with start_server(tmp_path / "server", database_url) as live:
        yield live


def pytest_report_header(config: pytest.Config) -> str:
    return f"thvc test database: {databases.ENGINE}"
