"""Downloads: a file's content (with Range), and a folder as a ZIP, both streamed.

The blob on disk is ciphertext, so bytes come from the file service's decrypting
generator, one segment at a time, whatever the size. Every check (existence,
permission, Range) is done before the first byte; once the body has started an
error can only end the connection.

The ZIP is written as it is sent (zipstream-ng): entries are stored, not
compressed, so its length is known before it starts (Content-Length, and a
browser shows progress), and each file's bytes are read when the archive
reaches it. The tree is listed first, folder by folder.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from zipstream import ZipStream

from thvc.accounts.services import Principal
from thvc.api.auth import Me
from thvc.api.deps import Svc
from thvc.api.etags import matches
from thvc.api.files import PathQuery, locate
from thvc.api.problems import COMMON, problem, responses
from thvc.files.errors import IsCollection, NotCollection
from thvc.files.perms import Perm
from thvc.files.services import FileService, Location
from thvc.http.ahead import read_ahead
from thvc.http.ranges import MalformedRange, RangeNotSatisfiable, parse_range
from thvc.services import Services

router = APIRouter(tags=["files"], responses=COMMON)

HEADERS = {
    "Cache-Control": "private, no-cache",
    "X-Content-Type-Options": "nosniff",
    # A stored file is data, never a page of this origin, whatever its type says.
    "Content-Security-Policy": "default-src 'none'; sandbox",
}
BINARY = {"schema": {"type": "string", "format": "binary"}}


def content_disposition(name: str) -> str:
    """``attachment; filename="ascii"; filename*=UTF-8''…`` (RFC 6266, RFC 8187)."""
    fallback = "".join(
        c if 0x20 <= ord(c) < 0x7F and c not in '"\\%' else "_"
        for c in unicodedata.normalize("NFKD", name)
        if not unicodedata.combining(c)
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get(
    "/files/content",
    response_class=Response,
    responses={
        200: {"description": "The content", "content": {"application/octet-stream": BINARY}},
        206: {
            "description": "The range asked for",
            "content": {"application/octet-stream": BINARY},
        },
        304: {"description": "Not modified (If-None-Match)"},
        **responses(409, 416),
    },
)
def download_file(request: Request, svc: Svc, me: Me, path: PathQuery) -> Response:
    """A file's content. ``Range: bytes=a-b`` (one range) answers 206; ``If-None-Match``
    with the etag answers 304."""
    try:
        handle = svc.files.open_read(locate(svc, me, path))
    except IsCollection:
        raise IsCollection("this is a folder: GET /files/zip downloads it") from None
    entry = handle.entry
    headers = {
        **HEADERS,
        "ETag": f'"{entry.etag}"',
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(entry.name),
    }
    inm = request.headers.get("if-none-match")
    if inm is not None and matches(inm, entry.etag):
        return Response(status_code=304, headers=headers)
    start, end, status = 0, entry.size, 200
    rng = request.headers.get("range")
    if_range = request.headers.get("if-range")
    # RFC 9110 §13.1.5: a Range with a stale If-Range gets the whole (new) content.
    if rng and (if_range is None or matches(if_range, entry.etag)):
        try:
            span = parse_range(rng, entry.size)
        except MalformedRange:
            span = None  # ignored, as RFC 9110 §14.2 allows
        except RangeNotSatisfiable:
            return problem(
                request,
                416,
                "range-not-satisfiable",
                "Range not satisfiable",
                f"the file has {entry.size} bytes",
                headers={"Content-Range": f"bytes */{entry.size}"},
            )
        if span is not None:
            start, end, status = span[0], span[1], 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{entry.size}"
    headers["Content-Length"] = str(end - start)
    return StreamingResponse(
        read_ahead(svc.files.read(handle, start, end)),
        status,
        headers=headers,
        media_type=entry.content_type or "application/octet-stream",
    )


@dataclass(frozen=True)
class Member:
    """One entry of the archive: a folder (``loc`` None) or a file of ``size`` bytes."""

    arcname: str
    loc: Location | None
    size: int = 0


def plan(svc: Services, me: Principal, folder: Location, top: str) -> list[Member]:
    """Everything the archive will hold, under ``top/``, found before it starts."""
    out = [Member(f"{top}/", None)]
    stack = [(folder, f"{top}/")]
    while stack:
        where, arc = stack.pop()
        for e in svc.files.listing(where)[1]:
            if not e.perms & Perm.READ:
                continue  # a drop: nothing in it can be read
            # A mount (in the root) lies in another space: the core resolves it.
            loc = (
                svc.files.locate(me, me.login, [*where.segments, e.name])
                if e.is_mount
                else where.child(e.name)
            )
            if e.is_dir:
                out.append(Member(f"{arc}{e.name}/", None))
                stack.append((loc, f"{arc}{e.name}/"))
            else:
                out.append(Member(f"{arc}{e.name}", loc, e.size))
    return out


def _content(files: FileService, loc: Location, size: int) -> Iterator[bytes]:
    handle = files.open_read(loc)
    if handle.entry.size != size:
        # Changed since the listing: the archive's announced length would be wrong.
        raise RuntimeError(f"{loc.path} changed while the archive was being sent")
    yield from files.read(handle)


@router.get(
    "/files/zip",
    response_class=Response,
    responses={
        200: {"description": "The folder as a ZIP", "content": {"application/zip": BINARY}},
        **responses(409),
    },
)
def download_zip(svc: Svc, me: Me, path: PathQuery = "/") -> Response:
    """A folder with everything in it as one ZIP file (stored, not compressed)."""
    loc = locate(svc, me, path)
    folder = svc.files.stat(loc)
    if not folder.is_dir:
        raise NotCollection("this is a file: GET /files/content downloads it")
    name = folder.name or "files"
    zs = ZipStream(sized=True)
    for m in plan(svc, me, loc, name):
        if m.loc is None:
            zs.mkdir(m.arcname)
        else:
            zs.add(_content(svc.files, m.loc, m.size), m.arcname, size=m.size)
    headers = {
        **HEADERS,
        "Content-Length": str(len(zs)),
        "Content-Disposition": content_disposition(f"{name}.zip"),
    }
    return StreamingResponse(iter(zs), 200, headers=headers, media_type="application/zip")
