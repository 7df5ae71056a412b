"""The browser-test machinery, end to end: a real server, Chromium, the built assets, axe.

Every page here is opened through ``new_page``, so any request to another host, CSP
violation or script error fails the test (checked at its end).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, FilePayload, Page, Route, expect

from tests.browser.conftest import NewPage
from tests.browser.support import axe_check, guard_context, new_user, no_external_requests
from tests.common.server import LiveServer
from thvc.web import assets


def _open(page: Page, path: str) -> None:
    response = page.goto(path)
    assert response is not None
    assert response.status == 200, f"{path}: {response.status}"


def test_built_assets_load_under_the_pages_csp(shared_live: LiveServer, new_page: NewPage) -> None:
    page = new_page("de", base_url=shared_live.url)
    css_url, js_url = assets.asset_url("thvc.css"), assets.asset_url("thvc.js")
    with page.expect_response(lambda r: r.url.endswith(css_url)) as css:
        _open(page, "/login")
    assert css.value.status == 200
    assert css.value.headers["content-type"] == "text/css; charset=utf-8"
    assert "immutable" in css.value.headers["cache-control"]
    assert page.locator("link[rel=stylesheet]").get_attribute("href") == css_url
    assert page.locator("script[type=module]").get_attribute("src") == js_url

    # htmx is there, configured for the CSP: it added no <style> of its own.
    page.wait_for_function("() => window.htmx && window.thvc")
    assert page.evaluate("htmx.config.includeIndicatorStyles") is False
    assert page.evaluate("document.querySelectorAll('style').length") == 0
    # KERN's Fira Sans comes from our own files.
    page.evaluate("document.fonts.ready")
    assert page.evaluate("document.fonts.check('16px \"Fira Sans\"')")
    fonts = page.evaluate(
        "[...performance.getEntriesByType('resource')].map(e => e.name)"
        ".filter(n => n.includes('.woff2'))"
    )
    assert fonts, "the page should have loaded a KERN font"
    assert all(f.startswith(f"{shared_live.url}/static/dist/FiraSans-") for f in fonts), fonts

    # The files themselves, as any client gets them.
    r = page.request.get(css_url)
    assert (r.status, r.headers["content-type"]) == (200, "text/css; charset=utf-8")
    r = page.request.get(js_url)
    assert (r.status, r.headers["content-type"]) == (200, "text/javascript; charset=utf-8")
    assert page.request.get("/static/dist/manifest.json").status == 404

    no_external_requests(page).check()


@pytest.mark.parametrize("lang", ["de", "en"])
def test_public_pages_pass_axe(shared_live: LiveServer, new_page: NewPage, lang: str) -> None:
    page = new_page(lang, base_url=shared_live.url)
    _open(page, "/login")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    axe_check(page, "log-in page")
    _open(page, "/accessibility")
    axe_check(page, "accessibility statement")


def test_new_page_opens_on_a_server_of_the_tests_own(live: LiveServer, new_page: NewPage) -> None:
    page = new_page("en")
    _open(page, "/login")
    assert page.url == f"{live.url}/login"
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_the_uploader_mounts_and_uploads(shared_live: LiveServer, new_page: NewPage) -> None:
    """frontend/src/upload.js on a bare page of its own: German Dashboard, tus, status."""
    login, password = new_user(shared_live)
    page = new_page(
        "de",
        base_url=shared_live.url,
        http_credentials={"username": login, "password": password},
    )
    html = f"""<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>Hochladen - ThVC</title>
<link rel="stylesheet" href="{assets.asset_url("thvc.css")}">
<script type="module" src="{assets.asset_url("upload.js")}"></script></head>
<body><main><h1>Hochladen</h1>
<div id="uploader" data-endpoint="/api/v1/uploads" data-folder="/" data-csrf="t" data-lang="de">
</div><p id="upload-status" aria-live="polite"></p></main></body></html>"""
    csp = "default-src 'self'; frame-ancestors 'none'"
    page.route(
        "**/__browser-test/upload",
        lambda route: route.fulfill(
            body=html,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": csp},
        ),
    )
    _open(page, "/__browser-test/upload")
    dashboard = page.locator("#uploader .uppy-Dashboard")
    expect(dashboard).to_be_visible()
    expect(dashboard).to_contain_text("Dateien")  # @uppy/locales de_DE
    upload: FilePayload = {
        "name": "Grüße.txt",
        "mimeType": "text/plain",
        "buffer": b"Hallo Welt\n" * 100,
    }
    page.locator("#uploader input[type=file]").first.set_input_files(files=[upload])
    page.locator("#uploader .uppy-StatusBar-actionBtn--upload").click()
    expect(page.locator("#upload-status")).to_contain_text("100 %")
    r = httpx.get(
        f"{shared_live.url}/remote.php/dav/files/{login}/Grüße.txt",
        auth=(login, password),
        timeout=30,
    )
    assert (r.status_code, r.content) == (200, b"Hallo Welt\n" * 100)


def test_the_guard_sees_other_hosts_csp_violations_and_errors(
    shared_live: LiveServer, browser: Browser
) -> None:
    """The guard itself (not through ``new_page``, whose end-of-test check would fail).

    Without a CSP the browser asks the other hosts (and the guard stops it); under the
    pages' CSP it does not even ask, and says why on the console.
    """
    html = """<!DOCTYPE html><html lang="en"><head><title>bad</title>
<link rel="stylesheet" href="https://fonts.googleapis.com/css2?family=Roboto">
<style>p { color: red }</style></head>
<body><p>x</p><img alt="" src="http://cdn.example.org/pixel.png">
<script src="/__browser-test/throws.js"></script></body></html>"""

    def serve(csp: str | None) -> Callable[[Route], None]:
        headers = {"Content-Security-Policy": csp} if csp else {}
        return lambda route: route.fulfill(body=html, content_type="text/html", headers=headers)

    context = browser.new_context(base_url=shared_live.url)
    try:
        guard = guard_context(context)
        page = context.new_page()
        page.route("**/__browser-test/open", serve(None))
        page.route("**/__browser-test/strict", serve("default-src 'self'"))
        page.route(
            "**/__browser-test/throws.js",
            lambda route: route.fulfill(body="null.boom;", content_type="text/javascript"),
        )
        page.goto("/__browser-test/open", wait_until="load")
        assert no_external_requests(page) is guard
        hosts = sorted(urlsplit(u.split(" ", 1)[1]).hostname or "" for u in guard.external)
        assert hosts == ["cdn.example.org", "fonts.googleapis.com"], guard.external
        assert guard.csp_violations == []
        assert len(guard.script_errors) == 1, guard.script_errors

        page.goto("/__browser-test/strict", wait_until="load")
        page.wait_for_timeout(200)  # console messages may trail the load event
        assert len(guard.external) == 2
        problems = "\n".join(guard.csp_violations)
        for kind in ("inline style", "stylesheet", "image"):
            assert kind in problems, problems
        with pytest.raises(AssertionError, match="request to another host"):
            guard.check()
    finally:
        context.close()
