"""A file drop end to end in Chromium: anna makes an upload-only link for a folder in the
sharing dialog; an anonymous visitor uploads two files through it (in English, and sees
only what they sent); the files are in anna's folder, byte for byte. axe-core on the
visitor's pages."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import NewPage
from tests.browser.support import axe_check
from tests.browser.test_files_flows import ANNA, ANNA_PW, dav_get, log_in
from tests.common.server import LiveServer


def test_an_anonymous_visitor_uploads_through_a_drop(
    live: LiveServer, new_page: NewPage, tmp_path: Path
) -> None:
    live.user(ANNA, ANNA_PW)
    folder = f"{live.url}/remote.php/dav/files/{ANNA}/Einreichungen"
    assert httpx.request("MKCOL", folder, auth=(ANNA, ANNA_PW)).status_code == 201

    anna = new_page("de")
    log_in(anna, ANNA, ANNA_PW)
    anna.goto("/share?path=/Einreichungen")
    anna.locator("#kind-drop").check()
    anna.get_by_role("button", name="Link erstellen").click()
    anna.wait_for_url(re.compile(r"done=link"))
    url = anna.locator("input.link-url").first.input_value()
    assert url.startswith(f"{live.url}/s/")

    first, second = tmp_path / "Antrag.pdf", tmp_path / "Anlage 1.txt"
    first.write_bytes(os.urandom(300_000))
    second.write_bytes(b"Anlage\n" * 1000)
    visitor = new_page("en")
    visitor.goto(url + "?lang=en")
    axe_check(visitor, "file drop (empty)")
    expect(visitor.locator("h1")).to_contain_text("Einreichungen")
    visitor.fill("#uploader", "Erika Mustermann")
    visitor.set_input_files("#files", [str(first), str(second)])
    visitor.get_by_role("button", name="Upload").click()
    expect(visitor.get_by_role("status")).to_contain_text("2 files were received")
    expect(visitor.locator("main")).to_contain_text("Antrag.pdf")
    axe_check(visitor, "file drop (after an upload)")
    # The visitor sees what they sent, never the folder: a second visitor sees nothing.
    other = new_page("en")
    other.goto(url + "?lang=en")
    expect(other.locator("main")).not_to_contain_text("Antrag.pdf")

    assert dav_get(live, "Einreichungen/Antrag.pdf") == first.read_bytes()
    assert dav_get(live, "Einreichungen/Anlage 1.txt") == second.read_bytes()
