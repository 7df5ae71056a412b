"""Downloads through a link: one file (Range, ETag), or a folder or a selection as a ZIP.

The ZIP is streamed with zipstream-ng as it is read: each file's bytes come
from the file service's decrypting generator when the archive reaches it, so
memory stays at one segment whatever the folder's size, and nothing is written
to disk. Entries are stored (not compressed), which lets the archive's length
be known before the first byte: browsers show progress. Every check (the link,
the path, the listing of the whole tree) is done before the response starts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC
from email.utils import format_datetime, parsedate_to_datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from zipstream import ZipStream

from thvc.files.errors import NodeNotFound
from thvc.files.services import Entry, FileService, Location, ReadHandle
from thvc.http.ahead import read_ahead
from thvc.web.http import (
    MalformedRange,
    RangeNotSatisfiable,
    content_disposition,
    parse_range,
    run,
)

# Called once a download is sure to be served, before its first byte: the link's count.
Count = Callable[[], Awaitable[None]]

NO_STORE = {"Cache-Control": "private, no-cache", "X-Content-Type-Options": "nosniff"}


def _http_date(entry: Entry) -> str:
    return format_datetime(entry.mtime.astimezone(UTC), usegmt=True)


def _matches(header: str, etag: str) -> bool:
    return header.strip() == "*" or any(
        t.strip().removeprefix("W/").strip('"') == etag for t in header.split(",")
    )


def _not_modified(request: Request, entry: Entry) -> bool:
    inm = request.headers.get("if-none-match")
    if inm is not None:
        return _matches(inm, entry.etag)
    ims = request.headers.get("if-modified-since")
    if ims:
        try:
            return int(entry.mtime.timestamp()) <= parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError):
            return False
    return False


async def file_response(
    request: Request, files: FileService, handle: ReadHandle, count: Count
) -> Response:
    """The file of ``handle``: 200, 206 for a single range, 304, or 416."""
    entry = handle.entry
    etag = f'"{entry.etag}"'
    headers = {
        **NO_STORE,
        "ETag": etag,
        "Last-Modified": _http_date(entry),
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(entry.name),
    }
    if _not_modified(request, entry):
        return Response(b"", 304, headers={"ETag": etag, **NO_STORE})
    start, end, status = 0, entry.size, 200
    rng = request.headers.get("range")
    if_range = request.headers.get("if-range")
    if rng and (if_range is None or _matches(if_range, entry.etag)):
        try:
            span = parse_range(rng, entry.size)
        except MalformedRange:
            span = None
        except RangeNotSatisfiable:
            return Response(b"", 416, headers={"Content-Range": f"bytes */{entry.size}"})
        if span is not None:
            start, end, status = span[0], span[1], 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{entry.size}"
    headers["Content-Length"] = str(end - start)
    media = entry.content_type or "application/octet-stream"
    if request.method == "HEAD":
        return Response(b"", status, headers=headers, media_type=media)
    if start == 0:  # a resumption (a later range) is the same download, not another
        await count()
    return StreamingResponse(
        read_ahead(files.read(handle, start, end)), status, headers=headers, media_type=media
    )


@dataclass(frozen=True)
class Member:
    """One entry of the archive: a folder (``loc`` None) or a file of ``size`` bytes."""

    arcname: str
    loc: Location | None
    size: int = 0


def plan(
    files: FileService, folder: Location, names: Sequence[str] | None, top: str
) -> list[Member]:
    """Everything the archive will hold, found before it starts (a thread's work).

    ``names`` picks members of ``folder`` (NodeNotFound if one is missing); without
    it the whole folder goes in under ``top/``.
    """
    _, kids = files.listing(folder)
    prefix = f"{top}/" if top else ""
    if names is not None:
        by_name = {k.name: k for k in kids}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise NodeNotFound(f"no {missing[0]!r} here")
        kids = [by_name[n] for n in dict.fromkeys(names)]
        prefix = ""
    out: list[Member] = [Member(prefix, None)] if prefix else []
    stack: list[tuple[Location, str, list[Entry]]] = [(folder, prefix, kids)]
    while stack:
        where, arc, entries = stack.pop()
        for e in entries:
            loc = where.child(e.name)
            if e.is_dir:
                out.append(Member(f"{arc}{e.name}/", None))
                stack.append((loc, f"{arc}{e.name}/", files.listing(loc)[1]))
            else:
                out.append(Member(f"{arc}{e.name}", loc, e.size))
    return out


def _content(files: FileService, loc: Location, size: int) -> Iterator[bytes]:
    handle = files.open_read(loc)
    if handle.entry.size != size:
        # Changed since the listing: the archive's announced length would be wrong.
        raise RuntimeError(f"{loc.path} changed while the archive was being sent")
    yield from files.read(handle)


async def zip_response(
    request: Request, files: FileService, members: list[Member], name: str, count: Count
) -> Response:
    zs = ZipStream(sized=True)
    for m in members:
        if m.loc is None:
            zs.mkdir(m.arcname)
        else:
            zs.add(_content(files, m.loc, m.size), m.arcname, size=m.size)
    headers = {
        **NO_STORE,
        "Content-Length": str(len(zs)),
        "Content-Disposition": content_disposition(f"{name}.zip"),
    }
    if request.method == "HEAD":
        return Response(b"", 200, headers=headers, media_type="application/zip")
    await count()
    return StreamingResponse(iter(zs), 200, headers=headers, media_type="application/zip")


def named(loc: Location, name: str) -> Location:
    """``loc`` with ``name`` as its last segment: the file service names what it opens by
    the last segment of its Location, and a link's root Location has none."""
    return loc if loc.segments else dataclasses.replace(loc, segments=(name,))


__all__ = ["Count", "Member", "file_response", "named", "plan", "run", "zip_response"]
