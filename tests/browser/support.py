"""Helpers for the browser tests: axe-core checks and the guard against other hosts.

- :func:`axe_check` runs axe-core (WCAG 2.0/2.1 A and AA) on the page as it is and
  fails with a readable list of violations; every checked page is recorded for the
  ``axe-core checked N pages`` summary at the end of the run (tests/browser/conftest.py).
- :func:`no_external_requests` watches a page's browser context: any request to a host
  other than 127.0.0.1 is recorded and aborted (nothing leaves the machine, and no
  test waits for a host it cannot reach), and so are CSP violations and uncaught
  script errors; :meth:`PageGuard.check` fails if there were any. Pages from
  ``new_page`` are guarded from the start and checked when the test ends.

axe is injected with ``page.evaluate(source)`` (a DevTools evaluation, which the page's
``Content-Security-Policy`` does not govern) rather than ``add_script_tag``, whose inline
``<script>`` the pages' ``script-src 'self'`` blocks. So no context needs
``bypass_csp``: every test sees the pages under their real policy, and a page that
only works without it fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Route, WebError

from tests.common.server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--no-first-run",
    "--no-pings",
]
AXE_JS = ROOT / "frontend" / "build" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
LOCAL_HOSTS = frozenset({"127.0.0.1"})
# Where each process appends the pages it checked (one JSON object a line); set by the
# controller in tests/browser/conftest.py, inherited by the xdist workers.
RECORDS_ENV = "THVC_AXE_RECORDS"
# Playwright's wait for a page or element, in ms.
TIMEOUT_MS = 15_000


# -- users on a shared server ----------------------------------------------------------


def new_user(live: LiveServer, name: str = "anna", tenant: str = "lauscha") -> tuple[str, str]:
    """A new user ``name-xxxxxx@tenant`` (the tenant made if missing): (login, password).

    For ``shared_live``, which the worker's tests share: unique names keep them apart.
    """
    login = f"{name}-{secrets.token_hex(3)}@{tenant}"
    password = f"pw-{secrets.token_urlsafe(12)}"
    live.user(login, password)
    return login, password


# -- the guard ---------------------------------------------------------------------


@dataclass
class PageGuard:
    """What one browser context did that ThVC's pages must never do."""

    external: list[str] = field(default_factory=list)
    csp_violations: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        return (
            [f"request to another host: {u}" for u in self.external]
            + [f"CSP violation: {m}" for m in self.csp_violations]
            + [f"script error: {m}" for m in self.script_errors]
        )

    def check(self) -> None:
        """Fail if any page of the context asked another host for anything, broke the
        Content-Security-Policy, or threw."""
        problems = self.problems()
        assert not problems, "the pages must not do this:\n  " + "\n  ".join(problems)


_GUARDS: dict[int, PageGuard] = {}


def is_local(url: str) -> bool:
    """Our server, or no host at all (data:, blob:, about:)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https", "ws", "wss", "ftp"):
        return True
    return parts.hostname in LOCAL_HOSTS


def guard_context(context: BrowserContext) -> PageGuard:
    """Watch ``context`` (once; later calls return the same guard)."""
    key = id(context)
    if key in _GUARDS:
        return _GUARDS[key]
    guard = _GUARDS[key] = PageGuard()

    def route(r: Route) -> None:
        url = r.request.url
        if is_local(url):
            r.continue_()
        else:
            guard.external.append(f"{r.request.method} {url}")
            r.abort("blockedbyclient")

    def console(message: ConsoleMessage) -> None:
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            guard.csp_violations.append(text)

    def web_error(error: WebError) -> None:
        guard.script_errors.append(str(error.error))

    context.route("**/*", route)
    context.on("console", console)
    context.on("weberror", web_error)

    def closed(_context: BrowserContext) -> None:
        _GUARDS.pop(key, None)

    context.on("close", closed)
    return guard


def no_external_requests(page: Page) -> PageGuard:
    """The guard of ``page``'s context (made now if the context has none yet):
    ``no_external_requests(page).check()`` fails if anything went to another host."""
    return guard_context(page.context)


# -- axe-core ----------------------------------------------------------------------


@dataclass(frozen=True)
class AxeRecord:
    label: str
    url: str
    lang: str
    violations: int


CHECKED: list[AxeRecord] = []

_AXE_RUN = """
async (tags) => {
  const result = await axe.run(document, {
    runOnly: { type: 'tag', values: tags },
    resultTypes: ['violations'],
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({
      target: n.target.map((t) => (Array.isArray(t) ? t.join(' >>> ') : String(t))),
      html: n.html,
      summary: n.failureSummary || '',
    })),
  }));
}
"""


def _axe_source() -> str:
    if not AXE_JS.is_file():
        raise AssertionError(f"{AXE_JS} is missing: run `make install` (node frontend/build.mjs)")
    return AXE_JS.read_text(encoding="utf-8")


def format_violations(violations: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:10]:
            lines.append(f"    at {', '.join(node['target'])}")
            lines.append(f"       {_one_line(node['html'], 160)}")
            if node["summary"]:
                lines.append(f"       {_one_line(node['summary'], 240)}")
        if len(v["nodes"]) > 10:
            lines.append(f"    … and {len(v['nodes']) - 10} more")
    return "\n".join(lines)


def _one_line(text: str, limit: int) -> str:
    flat = re.sub(r"\s+", " ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def axe_check(page: Page, label: str, *, tags: tuple[str, ...] = WCAG_TAGS) -> None:
    """Run axe-core on ``page`` as it is now; fail with every violation found.

    ``label`` names the page in the failure and in the end-of-run summary.
    """
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    violations: list[dict[str, Any]] = page.evaluate(_AXE_RUN, list(tags))
    lang = str(page.evaluate("document.documentElement.lang || ''"))
    record = AxeRecord(label, page.url, lang, len(violations))
    CHECKED.append(record)
    _write_record(record)
    assert not violations, (
        f"axe-core: {len(violations)} WCAG 2.1 A/AA violation(s) on {label} "
        f"({page.url}, lang={lang or '?'}):\n{format_violations(violations)}"
    )


def _write_record(record: AxeRecord) -> None:
    directory = os.environ.get(RECORDS_ENV)
    if not directory or not os.path.isdir(directory):
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.path.join(directory, f"{worker}-{os.getpid()}.jsonl"), "a", encoding="utf-8") as f:
        f.write(json.dumps(record.__dict__) + "\n")


def read_records(directory: str) -> list[AxeRecord]:
    """Every record the processes of this run wrote, in a stable order."""
    out: list[AxeRecord] = []
    for path in sorted(Path(directory).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(AxeRecord(**json.loads(line)))
    return sorted(out, key=lambda r: (r.label, r.lang, r.url))
