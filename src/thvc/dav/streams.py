"""Request bodies: streamed into the core, and what their headers say about them.

Every adapter that stores a body (WebDAV ``PUT``, the sync clients' chunk
``PUT``, tus ``PATCH``) reads it the same way: ``async for`` over
``request.stream()``, regrouped into ~1 MiB pieces, each piece handed to a
thread where the core hashes and encrypts it. Memory per transfer is bounded
by one piece plus what the server delivers at once, whatever the body's size.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from datetime import UTC, datetime

from starlette.requests import Request

from thvc.dav.context import DavContext, PayloadTooLarge, run
from thvc.errors import BadRequest
from thvc.http.ahead import WriteBehind

# Bytes handed to the thread pool at a time: large enough that hashing and AES-GCM
# run in OpenSSL rather than in the event loop's hops, small enough to bound memory.
PIECE = 1 << 20


async def pump(
    request: Request, write: Callable[[bytes], None], *, limit: int | None = None
) -> int:
    """Stream the request body into ``write`` (run in the thread pool); return the byte count.

    ``write`` receives pieces of about ``PIECE`` bytes (the last may be shorter).
    With ``limit``, a body longer than ``limit`` bytes raises PayloadTooLarge
    before any byte beyond the limit is handed to ``write``. Raises
    ``ClientDisconnect`` if the client goes away mid-body; what was written
    until then is the caller's to keep or discard.
    """
    total = 0
    buf = bytearray()
    # The next piece is received while the last one is hashed and encrypted.
    behind = WriteBehind(write)
    try:
        async for chunk in request.stream():
            if limit is not None and total + len(buf) + len(chunk) > limit:
                raise PayloadTooLarge(f"the body is longer than the {limit} bytes expected here")
            buf += chunk
            if len(buf) >= PIECE:
                piece, buf = bytes(buf), bytearray()
                await behind.put(piece)
                total += len(piece)
    finally:
        await behind.drain()
    if buf:  # the last piece: nothing left to receive meanwhile
        await run(write, bytes(buf))
        total += len(buf)
    return total


def content_length(ctx: DavContext) -> int | None:
    """``Content-Length`` as a number, None without one (chunked transfer encoding)."""
    value = ctx.header("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise BadRequest("Content-Length is not a number")
    return int(value)


def mtime(ctx: DavContext) -> datetime | None:
    """``X-OC-Mtime``: the modification time the sync clients send, in seconds."""
    value = ctx.header("x-oc-mtime")
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(int(float(value)), UTC)
    except (ValueError, OverflowError, OSError):
        raise BadRequest("X-OC-Mtime must be seconds since the epoch") from None


def checksum(ctx: DavContext) -> str | None:
    """The first checksum of ``OC-Checksum`` (``SHA1:<hex>``; several may be space-separated)."""
    value = (ctx.header("oc-checksum") or "").strip()
    return value.split(" ")[0] if value else None


def content_type(ctx: DavContext) -> str | None:
    """The client's type, or one guessed from the name (clients mostly send none)."""
    return guess_type(ctx.header("content-type"), ctx.loc.segments[-1] if ctx.loc.segments else "")


def guess_type(given: str | None, name: str) -> str | None:
    """``given`` if it says more than ``application/octet-stream``, else a guess from ``name``."""
    if given and len(given) <= 255 and given != "application/octet-stream":
        return given
    guessed, _ = mimetypes.guess_type(name)
    return guessed or given
