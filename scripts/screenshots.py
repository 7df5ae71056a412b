"""`make screenshots`: the main pages of the web interface, as PNGs in docs/screenshots/.

Starts a throw-away ThVC (SQLite, a temporary data directory, a free port on
127.0.0.1), fills it with a tenant, two users, a few files and a share, and
photographs the pages with Debian's Chromium through Playwright.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from playwright.sync_api import Page, sync_playwright
from tests.browser.support import CHROMIUM, CHROMIUM_ARGS
from tests.common.server import LiveServer, start_server

OUT = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
ANNA, ANNA_PW = "anna@lauscha", "anna-password-4711"
BEN, BEN_PW = "ben@suhl", "ben-password-0815"


def prepare(live: LiveServer) -> None:
    live.cli("tenant", "create", "lauscha", "--name", "Stadt Lauscha", "--quota", "50G")
    live.cli("tenant", "create", "suhl", "--name", "Stadt Suhl")
    live.user(ANNA, ANNA_PW)
    live.user(BEN, BEN_PW)
    dav = f"{live.url}/dav/files/{ANNA}"
    with httpx.Client(auth=(ANNA, ANNA_PW), timeout=30) as http:
        for folder in ("Bauplaene", "Haushalt 2027", "Ratssitzungen"):
            http.request("MKCOL", f"{dav}/{folder}").raise_for_status()
        files = {
            "Bauplaene/Lageplan Marktplatz.pdf": 480_000,
            "Bauplaene/Ansicht Nord.png": 1_250_000,
            "Haushalt 2027/Entwurf.ods": 96_000,
            "Protokoll Bauausschuss.odt": 41_000,
        }
        for name, size in files.items():
            http.put(f"{dav}/{name}", content=b"\0" * size).raise_for_status()
        http.post(
            f"{live.url}/ocs/v2.php/apps/files_sharing/api/v1/shares",
            headers={"OCS-APIRequest": "true"},
            data={"path": "/Bauplaene", "shareType": "0", "shareWith": BEN, "permissions": "1"},
        ).raise_for_status()


def log_in(page: Page, login: str, password: str) -> None:
    page.goto("/login")
    page.fill("#login", login)
    page.fill("#password", password)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url("**/files**")


def shoot(page: Page, path: str, name: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
    print(f"docs/screenshots/{name}.png  {path}")


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="thvc-shots-") as tmp:
        url = f"sqlite:///{tmp}/thvc.db"
        with start_server(Path(tmp) / "data", url) as live, sync_playwright() as pw:
            prepare(live)
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for lang in ("de", "en"):
                context = browser.new_context(
                    base_url=live.url, locale=lang, viewport={"width": 1280, "height": 800}
                )
                page = context.new_page()
                shoot(page, "/login", f"login-{lang}")
                log_in(page, ANNA, ANNA_PW)
                shoot(page, "/files", f"files-{lang}")
                shoot(page, "/share?path=/Bauplaene", f"share-{lang}")
                shoot(page, "/settings", f"settings-{lang}")
                context.close()
                context = browser.new_context(
                    base_url=live.url, locale=lang, viewport={"width": 1280, "height": 800}
                )
                page = context.new_page()
                log_in(page, "admin@platform", live.operator_password)
                shoot(page, "/operator", f"operator-{lang}")
                shoot(page, "/admin/lauscha", f"admin-{lang}")
                context.close()
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
