"""Static files: the built bundle (frontend/build.mjs, `make install`) and the link CSS."""

from __future__ import annotations

import asyncio
import json
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning
from starlette.types import Message

from thvc.web import assets

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

IMMUTABLE = "public, max-age=31536000, immutable"


@pytest.fixture(autouse=True)
def _fast() -> None:
    """Overrides tests/web/conftest.py's: these tests need no services or database."""


@pytest.fixture
def built() -> assets.Manifest:
    return assets.load()


@pytest.fixture
def client() -> TestClient:
    # no `with`: that would send lifespan events, which a mounted sub-app never gets
    return TestClient(assets.Assets(), follow_redirects=False)


def test_manifest_names_the_entries(built: assets.Manifest) -> None:
    for name, ext in (("thvc.css", "css"), ("thvc.js", "js"), ("upload.js", "js")):
        stem = name.rsplit(".", 1)[0]
        assert re.fullmatch(rf"{stem}\.[A-Z0-9]{{8}}\.{ext}", built.names[name])
        assert assets.asset_url(name) == f"/static/dist/{built.names[name]}"
    fonts = [f for f in built.files if f.endswith(".woff2")]
    assert any(f.startswith("FiraSans-Regular.") for f in fonts), fonts


def test_unknown_logical_name() -> None:
    with pytest.raises(KeyError, match="make install"):
        assets.asset_url("nope.js")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("thvc.css", "text/css; charset=utf-8"),
        ("thvc.js", "text/javascript; charset=utf-8"),
        ("upload.js", "text/javascript; charset=utf-8"),
    ],
)
def test_entries_are_served_immutable(
    client: TestClient, built: assets.Manifest, name: str, content_type: str
) -> None:
    url = assets.asset_url(name)
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["content-type"] == content_type
    assert r.headers["cache-control"] == IMMUTABLE
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.content == (built.directory / built.names[name]).read_bytes()
    head = client.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert head.headers["content-length"] == r.headers["content-length"]


def test_fonts_and_icons_are_served(client: TestClient, built: assets.Manifest) -> None:
    woff2 = next(f for f in sorted(built.files) if f.endswith(".woff2"))
    svg = next(f for f in sorted(built.files) if f.endswith(".svg"))
    r = client.get(f"/static/dist/{woff2}")
    assert (r.status_code, r.headers["content-type"]) == (200, "font/woff2")
    assert r.content[:4] == b"wOF2"
    r = client.get(f"/static/dist/{svg}")
    assert (r.status_code, r.headers["content-type"]) == (200, "image/svg+xml")
    assert r.headers["cache-control"] == IMMUTABLE


def test_stylesheet_refers_only_to_our_files(built: assets.Manifest) -> None:
    """No other host, no data: URL (the pages' CSP blocks them), no @import."""
    css = (built.directory / built.names["thvc.css"]).read_text()
    assert "@import" not in css
    assert "fonts.googleapis" not in css
    urls = re.findall(r"""url\(\s*["']?([^"')]*)["']?\s*\)""", css)
    assert urls, "KERN's fonts and icons should be referenced"
    for url in urls:
        assert url.startswith("./"), url
        assert url[2:] in built.files, url
    for name in (built.names["thvc.js"], built.names["upload.js"]):
        js = (built.directory / name).read_text()
        assert "fonts.googleapis" not in js
        assert "cdn.jsdelivr" not in js and "unpkg.com" not in js


@pytest.mark.parametrize(
    "path",
    [
        "/static/dist/",
        "/static/dist/manifest.json",
        "/static/dist/thvc.css",
        "/static/dist/../thvc.css",
        "/static/dist/%2e%2e/thvc.css",
        "/static/dist/..%2fassets.py",
        "/static/dist//etc/passwd",
        "/static/thvc.css",
        "/static/",
    ],
)
def test_anything_else_is_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/static/dist/../thvc.css",
        "/static/dist/../../assets.py",
        "/static/dist/./x",
        "/static/dist",
    ],
)
def test_raw_paths_are_404(built: assets.Manifest, path: str) -> None:
    """As the server passes them on, without a client normalising the dots first."""
    assert _raw_get(assets.Assets(), path) == 404
    assert _raw_get(assets.Assets(), assets.asset_url("thvc.css")) == 200


def _raw_get(app: assets.Assets, path: str) -> int:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"spec_version": "2.4"},  # else FileResponse waits for a disconnect
        "method": "GET",
        "path": path,
        "headers": [],
        "query_string": b"",
    }
    # In a thread of its own: Playwright's sync API (tests/browser) keeps a loop running
    # in this one when both run in the same worker.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    return int(sent[0]["status"])


def test_only_get_and_head(client: TestClient) -> None:
    url = assets.asset_url("thvc.js")
    assert client.post(url).status_code == 404
    assert client.put(url, content=b"x").status_code == 404


def test_link_stylesheet_still_served(client: TestClient) -> None:
    r = client.get(assets.CSS_URL)
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/css; charset=utf-8"
    assert r.headers["cache-control"] == IMMUTABLE
    assert r.content == assets.CSS


# -- a manifest of our own ------------------------------------------------------------


def _dist(tmp_path: Path, names: dict[str, str], files: dict[str, bytes]) -> Path:
    d = tmp_path / "dist"
    d.mkdir()
    for name, data in files.items():
        (d / name).write_bytes(data)
    (d / "manifest.json").write_text(json.dumps(names))
    return d


def test_serves_only_what_the_manifest_lists(tmp_path: Path) -> None:
    d = _dist(
        tmp_path,
        {"app.js": "app.ABCDEFGH.js", "logo.png": "logo.12345678.png"},
        {"app.ABCDEFGH.js": b"export {}\n", "logo.12345678.png": b"\x89PNG", "secret.txt": b"s"},
    )
    c = TestClient(assets.Assets(assets.read_manifest(d)))
    r = c.get("/static/dist/app.ABCDEFGH.js")
    assert (r.status_code, r.content) == (200, b"export {}\n")
    assert r.headers["content-type"] == "text/javascript; charset=utf-8"
    assert c.get("/static/dist/logo.12345678.png").headers["content-type"] == "image/png"
    assert c.get("/static/dist/secret.txt").status_code == 404
    assert c.get("/static/dist/app.js").status_code == 404
    # a listed file removed after start: 404, not a server error
    (d / "app.ABCDEFGH.js").unlink()
    assert c.get("/static/dist/app.ABCDEFGH.js").status_code == 404


def test_missing_build_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(assets.AssetsMissing, match=r"make install"):
        assets.read_manifest(tmp_path / "nothing")
    # without a manifest the files are simply not found
    c = TestClient(assets.Assets(assets.Manifest(tmp_path, {})))
    assert c.get("/static/dist/x.js").status_code == 404


@pytest.mark.parametrize("bad", ["../thvc.css", "sub/x.js", "/etc/passwd", ".hidden", "", 3])
def test_manifest_with_bad_names_is_refused(tmp_path: Path, bad: object) -> None:
    d = _dist(tmp_path, {"x.js": bad}, {})  # type: ignore[dict-item]
    with pytest.raises(assets.AssetsMissing, match="bad file name"):
        assets.read_manifest(d)


def test_manifest_naming_a_missing_file_is_refused(tmp_path: Path) -> None:
    d = _dist(tmp_path, {"x.js": "x.ABCDEFGH.js"}, {})
    with pytest.raises(assets.AssetsMissing, match="missing"):
        assets.read_manifest(d)
