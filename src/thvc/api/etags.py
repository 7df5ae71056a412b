"""ETags on single resources, and ``If-None-Match`` answered with 304 Not Modified.

A file's ETag is its node's etag (it changes with the content, and a folder's
with anything below it). Other resources have none of their own: theirs is a
hash of the JSON sent, which changes exactly when the answer would.
"""

from __future__ import annotations

import hashlib

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response

# Private data: a shared cache must not keep it; the client revalidates with the ETag.
CACHE = "private, no-cache"


def strip(tag: str) -> str:
    """``W/"abc"`` or ``"abc"`` -> ``abc``."""
    return tag.strip().removeprefix("W/").strip('"')


def matches(header: str, etag: str) -> bool:
    """Does an ``If-None-Match``/``If-Range`` list name ``etag`` (or ``*``)?"""
    return header.strip() == "*" or any(strip(t) == etag for t in header.split(","))


def if_match(request: Request) -> str | None:
    """The entity tag of ``If-Match`` as the core compares it (``*``, or bare)."""
    value = request.headers.get("if-match")
    if value is None:
        return None
    return "*" if value.strip() == "*" else strip(value.split(",")[0])


def json_response(
    request: Request, model: BaseModel, *, etag: str | None = None, status: int = 200
) -> Response:
    body = model.model_dump_json(by_alias=True).encode()
    tag = etag if etag is not None else hashlib.sha256(body).hexdigest()[:32]
    headers = {"ETag": f'"{tag}"', "Cache-Control": CACHE}
    inm = request.headers.get("if-none-match")
    if inm is not None and request.method in ("GET", "HEAD") and matches(inm, tag):
        return Response(status_code=304, headers=headers)
    return Response(body, status, headers=headers, media_type="application/json")
