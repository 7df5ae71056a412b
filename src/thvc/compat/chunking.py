"""Chunked uploads as the Nextcloud and ownCloud sync clients send them.

One URL space, ``/remote.php/dav/uploads/{login}/{transfer-id}/{chunk}``, and
one core (:class:`thvc.uploads.services.UploadService`) for every dialect:

- ``MKCOL`` the transfer folder, with ``OC-Total-Length``; chunking v2 adds
  ``Destination`` there and on every PUT (its quota then applies to the chunks);
- ``PUT`` the chunks, streamed. Their names differ by client: nextcloudcmd
  3.7.3 numbers them from 0, zero-padded to 16 digits (``0000000000000001``);
  owncloudcmd 2.11 names them by byte offset, padded the same way, and sends
  the offset in ``OC-Chunk-Offset`` too (the offset wins where it is given);
  Nextcloud chunking v2 numbers them ``00001``..``10000``. The core sorts them
  numerically and accepts either byte offsets that tile the file or
  consecutive numbers;
- to resume, both clients ``PROPFIND`` the folder (Depth 1, ``resourcetype``
  and ``getcontentlength``), keep the chunks that fit and ``DELETE`` the rest;
- ``MOVE .file`` with ``Destination``, ``OC-Total-Length``, ``X-OC-Mtime``,
  ``OC-Checksum`` and an ``If`` header naming the destination's etag streams
  the chunks into a new version through the same path as a plain PUT and
  answers 201/204 with ``OC-ETag``, ``ETag``, ``OC-FileId`` and ``X-OC-MTime``;
- ``DELETE`` the folder aborts.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from thvc.accounts.services import AccountService, Principal
from thvc.dav import responses
from thvc.dav.app import authenticate, check_if
from thvc.dav.context import DavContext, depth, etag_header, overwrite, run
from thvc.dav.errors import to_response
from thvc.dav.propfind import PropName, parse_propfind
from thvc.dav.streams import checksum, content_type, mtime, pump
from thvc.dav.xml import DAV, NS_DECL, OC, XML_HEAD, empty_element, escape, http_date, qname
from thvc.errors import BadRequest
from thvc.files import paths
from thvc.files.services import FileService, Location
from thvc.settings import Settings
from thvc.uploads.errors import UploadNotFound
from thvc.uploads.models import UploadKind
from thvc.uploads.services import UploadInfo, UploadService, check_part_name

log = logging.getLogger("thvc.compat")

KIND = UploadKind.CHUNKED
# The name a finished upload is moved from (Nextcloud and ownCloud alike).
ASSEMBLED = ".file"
ALLOW = "OPTIONS, PROPFIND, MKCOL, PUT, MOVE, DELETE"
MAX_DIGITS = 19


@dataclass(frozen=True)
class UploadContext:
    """One request to the upload tree, authenticated, with its names checked."""

    request: Request
    app: ChunkingApp
    actor: Principal
    # The transfer folder and the chunk (or ``.file``) the URL names, if any.
    transfer: str | None
    chunk: str | None

    @property
    def uploads(self) -> UploadService:
        return self.app.uploads

    @property
    def client(self) -> str | None:
        return self.request.client.host if self.request.client else None

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def number(self, name: str) -> int | None:
        """A header that must be a decimal number (``OC-Total-Length``, ``OC-Chunk-Offset``)."""
        value = self.header(name)
        if value is None:
            return None
        value = value.strip()
        if not value.isascii() or not value.isdigit() or len(value) > MAX_DIGITS:
            raise BadRequest(f"{name} must be a number of bytes")
        return int(value)

    def href(self, transfer: str | None = None, chunk: str | None = None) -> str:
        out = f"{self.app.prefix}/{quote(self.actor.login, safe='@')}/"
        if transfer is not None:
            out += quote(transfer, safe="") + "/"
        if chunk is not None:
            out = out + quote(chunk, safe="")
        return out

    async def session(self) -> UploadInfo:
        assert self.transfer is not None
        return await run(self.uploads.get_session, self.actor, KIND, self.transfer)

    async def files_context(self, loc: Location | None = None) -> DavContext:
        """A context of the user's file tree, to resolve ``Destination`` and ``If`` there."""
        if loc is None:
            loc = await run(self.app.files.locate, self.actor, self.actor.login, [])
        return DavContext(
            self.request,
            self.app.files,
            self.app.settings,
            self.actor,
            self.app.files_prefix,
            self.actor.login,
            loc,
        )


# -- PROPFIND ------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """A transfer folder or a chunk, as PROPFIND shows it."""

    href: str
    name: str
    is_dir: bool
    size: int
    etag: str
    mtime: datetime


PROPS: dict[PropName, Callable[[Item], str | None]] = {
    (DAV, "resourcetype"): lambda i: "<d:collection/>" if i.is_dir else "",
    (DAV, "getcontentlength"): lambda i: None if i.is_dir else str(i.size),
    (DAV, "getetag"): lambda i: escape(etag_header(i.etag)),
    (DAV, "getlastmodified"): lambda i: http_date(i.mtime),
    (DAV, "displayname"): lambda i: escape(i.name),
    (OC, "size"): lambda i: str(i.size),
}


def _folder(ctx: UploadContext, u: UploadInfo) -> Item:
    etag = f"{u.id:x}-{int(u.updated_at.timestamp() * 1_000_000):x}-{u.received:x}"
    return Item(ctx.href(u.name), u.name, True, u.received, etag, u.updated_at)


def render(items: list[Item], mode: str, wanted: list[PropName]) -> Iterator[str]:
    yield f"{XML_HEAD}<d:multistatus {NS_DECL}>"
    for item in items:
        found: list[str] = []
        missing: list[str] = []
        if mode == "propname":
            found = [
                empty_element(ns, n) for (ns, n), get in PROPS.items() if get(item) is not None
            ]
        else:
            for ns, n in list(PROPS) if mode == "allprop" else wanted:
                getter = PROPS.get((ns, n))
                value = getter(item) if getter is not None else None
                if value is None:
                    if mode == "prop":
                        missing.append(empty_element(ns, n))
                    continue
                tag, decl = qname(ns, n)
                found.append(f"<{tag}{decl}>{value}</{tag}>" if value else f"<{tag}{decl}/>")
        yield f"<d:response><d:href>{escape(item.href)}</d:href>"
        if found:
            yield (
                f"<d:propstat><d:prop>{''.join(found)}</d:prop>"
                "<d:status>HTTP/1.1 200 OK</d:status></d:propstat>"
            )
        if missing:
            yield (
                f"<d:propstat><d:prop>{''.join(missing)}</d:prop>"
                "<d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>"
            )
        yield "</d:response>"
    yield "</d:multistatus>"


async def do_PROPFIND(ctx: UploadContext) -> Response:
    """The user's transfer folders, or one folder and its chunks (what a resuming client reads)."""
    if ctx.chunk is not None:
        raise UploadNotFound("chunks are listed through their folder")
    files = await ctx.files_context()
    # Only one level exists below a folder, so infinity is the same as 1 here.
    d = depth(files, "1", ("0", "1", "infinity"))
    mode, wanted = parse_propfind(await files.read_xml_body())
    if ctx.transfer is None:
        me = await run(ctx.app.files.stat, files.loc)
        items = [Item(ctx.href(), ctx.actor.login, True, 0, me.etag, me.mtime)]
        if d != "0":
            sessions = await run(ctx.uploads.list_sessions, ctx.actor, KIND)
            items += [_folder(ctx, u) for u in sessions]
    else:
        upload = await ctx.session()
        items = [_folder(ctx, upload)]
        if d != "0":
            parts = await run(ctx.uploads.list_parts, ctx.actor, upload)
            items += [
                Item(ctx.href(upload.name, p.name), p.name, False, p.size, p.blob_id, p.created_at)
                for p in parts
            ]
    return responses.multistatus("".join(render(items, mode, wanted)).encode())


# -- MKCOL, PUT, DELETE ------------------------------------------------------


async def do_MKCOL(ctx: UploadContext) -> Response:
    """Start a transfer; an existing one of that name is kept (the client resumes it)."""
    if ctx.transfer is None:
        return responses.error(405, "the upload collection exists", headers={"Allow": ALLOW})
    if ctx.chunk is not None:
        return responses.error(405, "a transfer folder holds chunks, not folders")
    length = ctx.header("content-length")
    if (length and length != "0") or ctx.header("transfer-encoding"):
        return responses.error(415, "MKCOL with a request body is not supported")
    total = ctx.number("oc-total-length")
    target: Location | None = None
    destination = ctx.header("destination")
    if destination:
        # Chunking v2 names the destination up front: its quota applies to the chunks.
        files = await ctx.files_context()
        target = await files.resolve_url(destination)
    await run(
        ctx.uploads.open_session,
        ctx.actor,
        KIND,
        ctx.transfer,
        total,
        {"destination": destination} if destination else None,
        target=target,
        client=ctx.client,
    )
    return responses.empty(responses.CREATED)


async def do_PUT(ctx: UploadContext) -> Response:
    """Store one chunk, streamed; a chunk of the same name is replaced."""
    if ctx.transfer is None or ctx.chunk is None:
        return responses.error(405, "PUT chunks into a transfer folder", headers={"Allow": ALLOW})
    name = check_part_name(ctx.chunk)
    offset = ctx.number("oc-chunk-offset")
    declared = ctx.number("content-length")
    upload = await ctx.session()
    # The client's OC-Checksum on a chunk is not checked: some clients send the
    # whole file's there. The MOVE's checksum covers every byte.
    part = await run(
        ctx.uploads.begin_part,
        ctx.actor,
        upload,
        name,
        offset if offset is not None else int(name),
        length=declared,
    )
    try:
        await pump(ctx.request, part.write)
        if declared is not None and declared != part.size:
            raise BadRequest("the body is shorter than its Content-Length")
        info = await run(ctx.uploads.finish_part, part, actor=ctx.actor, client=ctx.client)
    except BaseException:
        await run(ctx.uploads.abort_part, part)
        raise
    status = responses.NO_CONTENT if part.replaces else responses.CREATED
    return responses.empty(status, {"ETag": etag_header(info.blob_id)})


async def do_DELETE(ctx: UploadContext) -> Response:
    """Abort a transfer, or drop one chunk (clients resuming drop what they will not reuse)."""
    if ctx.transfer is None:
        return responses.error(403, "the upload collection cannot be deleted")
    upload = await ctx.session()
    if ctx.chunk is None:
        await run(ctx.uploads.delete_session, ctx.actor, upload, client=ctx.client)
    else:
        await run(ctx.uploads.delete_part, ctx.actor, upload, ctx.chunk, client=ctx.client)
    return responses.empty(responses.NO_CONTENT)


# -- MOVE .file --------------------------------------------------------------


async def do_MOVE(ctx: UploadContext) -> Response:
    """Assemble the chunks into the destination file: all of it, or nothing."""
    if ctx.transfer is None or ctx.chunk != ASSEMBLED:
        raise BadRequest(f"only {ASSEMBLED} of a transfer folder can be moved")
    total = ctx.number("oc-total-length")
    upload = await ctx.session()
    files = await ctx.files_context()
    dst = await files.destination()
    files = dataclasses.replace(files, loc=dst)
    # The clients turn If-Match into "If: <destination> (["etag"])": it names
    # the destination, which is also what an untagged list applies to here.
    if_value = ctx.header("if")
    if if_value is not None:
        files = await check_if(files, if_value)
    when = mtime(files)
    entry, created = await run(
        ctx.uploads.assemble,
        ctx.actor,
        upload,
        dst,
        total_length=total,
        mtime=when,
        checksum=checksum(files),
        content_type=content_type(files),
        if_none_match=not overwrite(files),
        tokens=files.tokens,
        client=ctx.client,
    )
    headers = {
        "ETag": etag_header(entry.etag),
        "OC-ETag": etag_header(entry.etag),
        "OC-FileId": f"{entry.id:08d}thvc",
    }
    if when is not None:
        headers["X-OC-MTime"] = "accepted"
    return responses.empty(responses.CREATED if created else responses.NO_CONTENT, headers)


async def do_OPTIONS(ctx: UploadContext) -> Response:
    return responses.empty(200, {"DAV": "1", "Allow": ALLOW})


Handler = Callable[[UploadContext], Awaitable[Response]]

HANDLERS: dict[str, Handler] = {
    "OPTIONS": do_OPTIONS,
    "PROPFIND": do_PROPFIND,
    "MKCOL": do_MKCOL,
    "PUT": do_PUT,
    "DELETE": do_DELETE,
    "MOVE": do_MOVE,
}


class ChunkingApp:
    """An ASGI app serving ``{prefix}/{login}/{transfer-id}/{chunk}`` for chunked uploads."""

    def __init__(
        self,
        prefix: str,
        *,
        settings: Settings,
        accounts: AccountService,
        files: FileService,
        uploads: UploadService,
        files_prefix: str = "/remote.php/dav/files",
    ) -> None:
        assert prefix.startswith("/") and not prefix.endswith("/")
        assert files_prefix.startswith("/") and not files_prefix.endswith("/")
        self.prefix = prefix
        self.files_prefix = files_prefix
        self.settings = settings
        self.accounts = accounts
        self.files = files
        self.uploads = uploads

    async def handle(self, request: Request) -> Response:
        method = request.method.upper()
        handler = HANDLERS.get(method)
        try:
            if handler is None:
                return responses.error(
                    405, f"{method} is not supported here", headers={"Allow": ALLOW}
                )
            actor = await authenticate(request, self.accounts)
            raw = request.scope.get("raw_path") or request.scope["path"].encode()
            raw = raw.split(b"?", 1)[0]
            segments = paths.segments_from_url(raw[len(self.prefix) :])
            if not segments or segments[0].lower() != actor.login or len(segments) > 3:
                # Another user's uploads are reported as not existing at all.
                raise UploadNotFound()
            transfer = segments[1] if len(segments) > 1 else None
            chunk = segments[2] if len(segments) > 2 else None
            return await handler(UploadContext(request, self, actor, transfer, chunk))
        except ClientDisconnect:
            log.info("client went away during %s %s", method, request.url.path)
            return responses.empty(400)
        except Exception as exc:  # mapped once, by the WebDAV adapter's table
            return to_response(exc)

    async def __call__(self, scope: object, receive: object, send: object) -> None:
        request = Request(scope, receive)  # type: ignore[arg-type]
        response = await self.handle(request)
        await response(scope, receive, send)  # type: ignore[arg-type]
