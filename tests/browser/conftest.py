"""Browser tests: Debian's Chromium, driven by Playwright (sync API), against a real server.

Fixtures:

- ``browser`` (one headless Chromium per xdist worker, for the session);
- ``live``: a ``thvc init`` + ``thvc serve`` process on a free 127.0.0.1 port, of this
  test's own (tests/conftest.py's ``server``: own data directory and database);
- ``shared_live``: the same, but one per xdist worker for the session (a server costs
  seconds to start). Tests on it share it: each makes its own users
  (:func:`tests.browser.support.new_user`, unique names), changes nothing others rely
  on, and passes ``base_url=shared_live.url`` to ``new_page``/``context_factory``;
- ``context_factory(lang="de", **options) -> BrowserContext``: a fresh context with
  ``locale`` (so ``Accept-Language``) for ``lang`` and ``base_url=live.url`` (``live``
  is only started if no ``base_url`` is given), guarded by
  :func:`tests.browser.support.guard_context`; closed, and its guard checked, at the end
  of the test;
- ``new_page(lang="de", **options) -> Page``: a page in a fresh such context.

Playwright cannot download browsers here; ``/usr/bin/chromium`` comes from Debian
(``make system-deps``). axe-core comes from ``make install`` (frontend/build/axe.min.js).

At the end of the run the controller prints which pages axe-core checked. Each process
appends its records to a directory the controller makes (:data:`support.RECORDS_ENV`,
inherited by the xdist workers). With ``-n`` and no path naming tests/browser, the
controller never loads this file (pytest only loads tests/conftest.py and tests/test*/
ahead of collection, and xdist's controller does not collect): then no summary, unless
tests/conftest.py imports the three hooks below (they tolerate being registered twice).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.browser import support
from tests.common import databases
from tests.common.server import LiveServer, start_server

LOCALES = {"de": "de-DE", "en": "en-GB"}

# expect(...) waits 5 s by default; CI has two cores shared by two workers and servers.
expect.set_options(timeout=support.TIMEOUT_MS)

ContextFactory = Callable[..., BrowserContext]
NewPage = Callable[..., Page]

_RECORDS_OWNER: pytest.StashKey[str] = pytest.StashKey()
_SUMMARY_DONE: pytest.StashKey[bool] = pytest.StashKey()


# -- the axe-core summary ------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or os.environ.get(support.RECORDS_ENV):
        return  # a worker: it inherited the directory; or already set up
    directory = tempfile.mkdtemp(prefix="thvc-axe-")
    os.environ[support.RECORDS_ENV] = directory
    config.stash[_RECORDS_OWNER] = directory


def pytest_unconfigure(config: pytest.Config) -> None:
    directory = config.stash.get(_RECORDS_OWNER, None)
    if directory is not None:
        shutil.rmtree(directory, ignore_errors=True)
        if os.environ.get(support.RECORDS_ENV) == directory:
            del os.environ[support.RECORDS_ENV]
        del config.stash[_RECORDS_OWNER]


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    directory = os.environ.get(support.RECORDS_ENV)
    if hasattr(config, "workerinput") or not directory or config.stash.get(_SUMMARY_DONE, False):
        return
    config.stash[_SUMMARY_DONE] = True
    records = support.read_records(directory)
    if not records:
        return
    failed = sum(1 for r in records if r.violations)
    head = f"axe-core checked {len(records)} pages (WCAG 2.1 A/AA)"
    terminalreporter.write_sep("-", head + (f", {failed} with violations" if failed else ""))
    for r in records:
        mark = f"  {r.violations} violation(s)" if r.violations else ""
        terminalreporter.write_line(f"  {r.label} [{r.lang or '?'}] {r.url}{mark}")


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(support.CHROMIUM).exists():
        pytest.fail(
            f"{support.CHROMIUM} is missing: `make system-deps` installs Debian's chromium "
            "(Playwright cannot download its own browsers here)",
            pytrace=False,
        )
    b = playwright.chromium.launch(
        executable_path=support.CHROMIUM, args=support.CHROMIUM_ARGS, headless=True
    )
    yield b
    b.close()


@pytest.fixture
def live(server: LiveServer) -> LiveServer:
    """A running, initialised ThVC of this test's own
    (``live.url``, ``live.cli(...)``, ``live.user(...)``, ``live.operator_password``)."""
    return server


@pytest.fixture(scope="session")
def shared_live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A running, initialised ThVC shared by this worker's tests that ask for it."""
    tmp = tmp_path_factory.mktemp("shared-live")
    url = databases.fresh_database(tmp, os.environ.get("PYTEST_XDIST_WORKER", "main"))
    try:
        with start_server(tmp / "server", url) as server:
            yield server
    finally:
        databases.drop_database(url)


@pytest.fixture
def context_factory(browser: Browser, request: pytest.FixtureRequest) -> Iterator[ContextFactory]:
    made: list[tuple[BrowserContext, support.PageGuard]] = []

    def new_context(lang: str = "de", **options: Any) -> BrowserContext:
        options.setdefault("locale", LOCALES[lang])
        if "base_url" not in options:
            live: LiveServer = request.getfixturevalue("live")
            options["base_url"] = live.url
        context = browser.new_context(**options)
        context.set_default_timeout(support.TIMEOUT_MS)
        made.append((context, support.guard_context(context)))
        return context

    yield new_context
    problems: list[str] = []
    for context, guard in made:
        problems += guard.problems()
        context.close()
    assert not problems, "the pages must not do this:\n  " + "\n  ".join(problems)


@pytest.fixture
def new_page(context_factory: ContextFactory) -> NewPage:
    def make(lang: str = "de", **options: Any) -> Page:
        return context_factory(lang, **options).new_page()

    return make
