"""PUT (RFC 9110 §9.3.4): stream the body into a new version of the file.

The body is regrouped into ~1 MiB pieces before each hop to the thread pool,
where it is hashed and encrypted; memory stays bounded whatever the size.
"""

from __future__ import annotations

import mimetypes
from datetime import UTC, datetime

from starlette.responses import Response

from thvc.dav import responses
from thvc.dav.context import DavContext, etag_header, run, strip_etag
from thvc.errors import BadRequest

PIECE = 1 << 20


def _length(ctx: DavContext) -> int | None:
    value = ctx.header("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise BadRequest("Content-Length is not a number")
    return int(value)


def _mtime(ctx: DavContext) -> datetime | None:
    value = ctx.header("x-oc-mtime")
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(int(float(value)), UTC)
    except (ValueError, OverflowError, OSError):
        raise BadRequest("X-OC-Mtime must be seconds since the epoch") from None


def _checksum(ctx: DavContext) -> str | None:
    """The first checksum of ``OC-Checksum`` (``SHA1:<hex>``; several may be space-separated)."""
    value = (ctx.header("oc-checksum") or "").strip()
    return value.split(" ")[0] if value else None


async def do_PUT(ctx: DavContext) -> Response:
    if ctx.header("content-range"):
        # RFC 9110 §14.5: a server that does not do partial PUT must refuse it.
        raise BadRequest("partial PUT with Content-Range is not supported")
    if_match = ctx.header("if-match")
    upload = await run(
        ctx.files.begin_put,
        ctx.loc,
        length=_length(ctx),
        if_match=strip_etag(if_match) if if_match else None,
        if_none_match=(ctx.header("if-none-match") or "").strip() == "*",
        actor=ctx.actor,
        tokens=ctx.tokens,
        checksum=_checksum(ctx),
    )
    mtime = _mtime(ctx)
    try:
        buf = bytearray()
        async for chunk in ctx.request.stream():
            buf += chunk
            if len(buf) >= PIECE:
                piece, buf = bytes(buf), bytearray()
                await run(upload.write, piece)
        if buf:
            await run(upload.write, bytes(buf))
        declared = ctx.header("content-length")
        if declared is not None and int(declared) != upload.writer.size:
            raise BadRequest("the body is shorter than its Content-Length")
        entry, created = await run(
            ctx.files.finish_put,
            upload,
            actor=ctx.actor,
            mtime=mtime,
            content_type=_content_type(ctx),
            client=ctx.client,
        )
    except BaseException:
        await run(ctx.files.abort_put, upload)
        raise
    headers = {
        "ETag": etag_header(entry.etag),
        "OC-ETag": etag_header(entry.etag),
        "OC-FileId": f"{entry.id:08d}thvc",
    }
    if mtime is not None:
        headers["X-OC-MTime"] = "accepted"
    return responses.empty(201 if created else 204, headers)


def _content_type(ctx: DavContext) -> str | None:
    """The client's type, or one guessed from the name (clients mostly send none)."""
    value = ctx.header("content-type")
    if value and len(value) <= 255 and value != "application/octet-stream":
        return value
    guessed, _ = mimetypes.guess_type(ctx.loc.segments[-1] if ctx.loc.segments else "")
    return guessed or value
