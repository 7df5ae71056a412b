"""The web pages' static files, served by ThVC itself under URLs that name their content.

Two kinds, both cached for good (``immutable``): a new file gets a new URL.

- ``/static/thvc.<hash>.css``: the link pages' own small stylesheet
  (``static/thvc.css``), :data:`CSS_URL`;
- ``/static/dist/<name>.<hash>.<ext>``: what ``frontend/build.mjs`` bundles (KERN UX,
  its fonts, htmx, Uppy; ``make install`` runs it) into ``static/dist/``, listed in
  ``static/dist/manifest.json`` as ``{logical name: file name}``. Templates name
  them by logical name: :func:`asset_url` ``("thvc.css")``, ``("thvc.js")``,
  ``("upload.js")``.

Only the files the manifest lists are served (it is read once, by :func:`load` at
app start or on first use); any other path is 404, so no path leads anywhere else.
The manifest is not needed to import this module: unit tests that never render a
page run without a build.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from starlette.responses import FileResponse, Response
from starlette.types import Receive, Scope, Send

PREFIX = "/static"
STATIC_DIR = Path(__file__).parent / "static"
CSS = (STATIC_DIR / "thvc.css").read_bytes()
CSS_URL = f"{PREFIX}/thvc.{hashlib.sha256(CSS).hexdigest()[:12]}.css"

DIST_DIR = STATIC_DIR / "dist"
DIST_PREFIX = f"{PREFIX}/dist"
MANIFEST = "manifest.json"

CACHE_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}
CONTENT_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}


class AssetsMissing(RuntimeError):
    """The bundle is not built (or is incomplete): ``make install`` builds it."""


@dataclass(frozen=True)
class Manifest:
    """The built files: ``names`` maps logical names to file names in ``directory``."""

    directory: Path
    names: Mapping[str, str]

    @property
    def files(self) -> frozenset[str]:
        return frozenset(self.names.values())

    def url(self, name: str) -> str:
        try:
            return f"{DIST_PREFIX}/{self.names[name]}"
        except KeyError:
            raise KeyError(
                f"no asset {name!r} in {self.directory / MANIFEST}; "
                "add it to frontend/build.mjs and run `make install`"
            ) from None


def read_manifest(directory: Path = DIST_DIR) -> Manifest:
    """``directory/manifest.json``, checked: plain file names, every file there."""
    path = directory / MANIFEST
    hint = "run `make install` (it runs `npm ci --prefix frontend` and `node frontend/build.mjs`)"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AssetsMissing(f"the web assets are not built: {path} is missing; {hint}") from None
    except (OSError, ValueError) as exc:
        raise AssetsMissing(f"cannot read {path} ({exc}); {hint}") from None
    if not isinstance(raw, dict):
        raise AssetsMissing(f"{path} is not a JSON object; {hint}")
    names: dict[str, str] = {}
    for key, value in raw.items():
        if (
            not isinstance(value, str)
            or not value
            or value != os.path.basename(value)
            or value.startswith(".")
            or "\\" in value
        ):
            raise AssetsMissing(f"{path}: bad file name for {key!r}: {value!r}; {hint}")
        if not (directory / value).is_file():
            raise AssetsMissing(f"{path} names {value}, which is missing; {hint}")
        names[str(key)] = value
    return Manifest(directory, names)


_manifest: Manifest | None = None


def load(directory: Path = DIST_DIR) -> Manifest:
    """Read the manifest (again) and use it from now on; the app calls this at start.

    Raises :class:`AssetsMissing`, with what to do, when the bundle is not built.
    """
    global _manifest
    _manifest = read_manifest(directory)
    return _manifest


def manifest() -> Manifest:
    """The manifest in use, read on first use."""
    return _manifest if _manifest is not None else load()


def asset_url(name: str) -> str:
    """The URL of a built file by its logical name: ``asset_url("thvc.css")``."""
    return manifest().url(name)


def _not_found() -> Response:
    return Response(b"not found", 404, media_type="text/plain")


class Assets:
    """An ASGI app for ``/static``: the link pages' stylesheet and the built files, or 404.

    ``dist`` is the manifest to serve; by default the module's (:func:`manifest`).
    """

    def __init__(self, dist: Manifest | None = None) -> None:
        self._dist = dist

    def _dist_file(self, name: str) -> tuple[Path, os.stat_result] | None:
        try:
            dist = self._dist or manifest()
        except AssetsMissing:
            return None
        if name not in dist.files:
            return None
        path = dist.directory / name
        try:
            st = path.stat()
        except OSError:
            return None
        return (path, st) if stat.S_ISREG(st.st_mode) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        response: Response
        if scope["method"] not in ("GET", "HEAD"):
            response = _not_found()
        elif path == CSS_URL:
            response = Response(CSS, 200, CACHE_HEADERS, media_type="text/css; charset=utf-8")
        elif path.startswith(DIST_PREFIX + "/"):
            found = self._dist_file(path[len(DIST_PREFIX) + 1 :])
            if found is None:
                response = _not_found()
            else:
                file, st = found
                response = FileResponse(
                    file,
                    headers=CACHE_HEADERS,
                    media_type=CONTENT_TYPES.get(file.suffix, "application/octet-stream"),
                    stat_result=st,
                )
        else:
            response = _not_found()
        await response(scope, receive, send)
