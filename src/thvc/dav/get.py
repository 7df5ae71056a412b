"""GET and HEAD (RFC 9110 §9.3.1-2): content with Range and conditional requests."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import cast

from starlette.responses import Response, StreamingResponse

from thvc.dav import responses
from thvc.dav.context import DavContext, etag_header, run, strip_etag
from thvc.dav.xml import http_date
from thvc.files.errors import IsCollection
from thvc.files.services import Entry, FileService, Location, ReadHandle
from thvc.http.ahead import read_ahead
from thvc.http.ranges import MalformedRange, RangeNotSatisfiable, parse_range


def _matches(header: str, etag: str) -> bool:
    return header.strip() == "*" or any(strip_etag(t) == etag for t in header.split(","))


def _date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def check_preconditions(ctx: DavContext, entry: Entry) -> int | None:
    """The status a conditional GET/HEAD ends with, or None to go on (RFC 9110 §13.2.2)."""
    mtime = int(entry.mtime.timestamp())
    if (im := ctx.header("if-match")) is not None and not _matches(im, entry.etag):
        return 412
    ius = _date(ctx.header("if-unmodified-since"))
    if ctx.header("if-match") is None and ius is not None and mtime > ius:
        return 412
    if (inm := ctx.header("if-none-match")) is not None:
        if _matches(inm, entry.etag):
            return 304
    else:
        ims = _date(ctx.header("if-modified-since"))
        if ims is not None and mtime <= ims:
            return 304
    return None


# Files up to this size are read whole in the same trip to the thread pool that finds
# them, and sent as one body (one encryption segment's worth: bounded memory).
SMALL = 64 << 10


def prefetch_GET(files: FileService, loc: Location) -> tuple[ReadHandle, bytes | None]:
    return files.open_small(loc, SMALL)


def prefetch_HEAD(files: FileService, loc: Location) -> tuple[ReadHandle, bytes | None]:
    return files.open_small(loc, 0)


async def do_GET(ctx: DavContext, *, head: bool = False) -> Response:
    try:
        if ctx.early is not None:
            handle, small = cast(tuple[ReadHandle, bytes | None], ctx.early.get())
        else:
            handle, small = await run(ctx.files.open_small, ctx.loc, 0 if head else SMALL)
    except IsCollection:
        entry = await run(ctx.files.stat, ctx.loc)
        return responses.empty(
            200, {"ETag": etag_header(entry.etag), "Content-Type": "httpd/unix-directory"}
        )
    entry = handle.entry
    headers = {
        "ETag": etag_header(entry.etag),
        "Last-Modified": http_date(entry.mtime),
        "Accept-Ranges": "bytes",
        "OC-FileId": f"{entry.id:08d}thvc",
        "OC-ETag": etag_header(entry.etag),
        "Content-Disposition": "attachment",
        "X-Content-Type-Options": "nosniff",
    }
    if entry.sha256:
        headers["OC-Checksum"] = f"SHA256:{entry.sha256}"
    status = check_preconditions(ctx, entry)
    if status is not None:
        return responses.empty(status, {"ETag": headers["ETag"]})
    media = entry.content_type or "application/octet-stream"
    start, end, code = 0, entry.size, 200
    rng = ctx.header("range")
    if_range = ctx.header("if-range")
    if rng and (if_range is None or strip_etag(if_range) == entry.etag):
        try:
            span = parse_range(rng, entry.size)
        except MalformedRange:
            span = None
        except RangeNotSatisfiable:
            return responses.empty(416, {"Content-Range": f"bytes */{entry.size}"})
        if span is not None:
            start, end, code = span[0], span[1], 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{entry.size}"
    headers["Content-Length"] = str(end - start)
    if head:
        return Response(b"", code, headers=headers, media_type=media)
    if small is not None:
        ctx.files.sent(handle, end - start)
        return Response(small[start:end], code, headers=headers, media_type=media)
    return StreamingResponse(
        read_ahead(ctx.files.read(handle, start, end)), code, headers=headers, media_type=media
    )


async def do_HEAD(ctx: DavContext) -> Response:
    return await do_GET(ctx, head=True)
