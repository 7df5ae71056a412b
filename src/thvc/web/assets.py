"""The web pages' stylesheet, served by ThVC itself under a URL that names its content.

``/static/thvc.<hash>.css``: a new stylesheet gets a new URL, so the old one can
be cached for good (``immutable``). Nothing else is served here.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

PREFIX = "/static"
STATIC_DIR = Path(__file__).parent / "static"
CSS = (STATIC_DIR / "thvc.css").read_bytes()
CSS_URL = f"{PREFIX}/thvc.{hashlib.sha256(CSS).hexdigest()[:12]}.css"


class Assets:
    """An ASGI app for ``/static``: the current stylesheet, or 404."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == CSS_URL and scope["method"] in ("GET", "HEAD"):
            response = Response(
                CSS,
                200,
                {
                    "Cache-Control": "public, max-age=31536000, immutable",
                    "X-Content-Type-Options": "nosniff",
                },
                media_type="text/css; charset=utf-8",
            )
        else:
            response = Response(b"not found", 404, media_type="text/plain")
        await response(scope, receive, send)
