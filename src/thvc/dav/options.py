"""OPTIONS (RFC 4918 §10.1): what this server speaks."""

from __future__ import annotations

from starlette.responses import Response

from thvc.dav import responses
from thvc.dav.context import DavContext

ALLOW = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, MKCOL, COPY, MOVE, LOCK, UNLOCK"


async def do_OPTIONS(ctx: DavContext) -> Response:
    return await do_OPTIONS_bare()


async def do_OPTIONS_bare() -> Response:
    """The same answer above the users' trees, where there is no resource to resolve."""
    return responses.empty(
        200, {"DAV": "1, 2", "Allow": ALLOW, "MS-Author-Via": "DAV", "Accept-Ranges": "bytes"}
    )
