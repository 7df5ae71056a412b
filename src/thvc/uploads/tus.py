"""tus 1.0 resumable uploads at ``/api/v1/uploads/``: a thin adapter over the upload core.

The protocol (https://tus.io/protocols/resumable-upload) with the extensions
creation, creation-with-upload, creation-defer-length, termination, checksum
(sha1, sha256, md5) and expiration:

- ``POST /api/v1/uploads/`` with ``Upload-Length`` (or ``Upload-Defer-Length:
  1``) and ``Upload-Metadata`` (``filename`` or ``name``, optionally
  ``folder``) opens an upload session (:class:`UploadKind.TUS`) under a random
  id and answers 201 with ``Location``; a body sent with it is the first part;
- ``HEAD /api/v1/uploads/{id}`` tells the offset to resume from;
- ``PATCH`` appends one body at ``Upload-Offset`` as one encrypted part;
  bytes of a body cut off mid-way are kept, so the client resumes after them;
- when the offset reaches the length, the parts are assembled into the target
  file through the same path as a WebDAV PUT (quota, locks, versions, audit):
  the target changes only in that last transaction, and then the session and
  its URL are gone;
- ``DELETE`` abandons the upload; sessions untouched for
  ``THVC_UPLOAD_EXPIRY_SECONDS`` are removed by the core (``Upload-Expires``).

State is in the database only, so an upload survives a restart and any
process behind a load balancer can take the next request. Who uploads is
decided by one :data:`Authenticator` passed to :class:`TusApp`: HTTP Basic
(password or app password) or ``Bearer <app password>`` by default.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from thvc.accounts.models import AppPassword, User
from thvc.accounts.passwords import token_hash
from thvc.accounts.services import AccountService, Principal
from thvc.accounts.sessions import SessionService
from thvc.dav.app import authenticate as basic_authenticate
from thvc.dav.context import PayloadTooLarge, run
from thvc.dav.errors import to_response
from thvc.dav.streams import guess_type, pump
from thvc.dav.xml import http_date
from thvc.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotAuthenticated,
    PreconditionFailed,
    QuotaExceeded,
    ThvcError,
)
from thvc.files import paths
from thvc.files.errors import ChecksumMismatch, IsCollection, ParentMissing
from thvc.files.services import FileService, Location
from thvc.http.websession import CSRF_HEADER, session_token
from thvc.settings import Settings
from thvc.uploads import tus_headers as th
from thvc.uploads.errors import OffsetMismatch, PartsExceedLength, UploadNotFound
from thvc.uploads.models import UploadKind
from thvc.uploads.services import UploadInfo, UploadService

log = logging.getLogger("thvc.uploads.tus")

KIND = UploadKind.TUS
ID_BYTES = 20  # 160 random bits: an upload URL cannot be guessed
ID_PATTERN = re.compile(f"[0-9a-f]{{{2 * ID_BYTES}}}")
ALLOW_COLLECTION = "OPTIONS, POST"
ALLOW_UPLOAD = "OPTIONS, HEAD, PATCH, DELETE"
# Keys of the session's ``meta`` (beside the core's target).
META_HEADER = "upload_metadata"
META_TYPE = "content_type"


class UploadExpired(UploadNotFound):
    """The upload expired (tus expiration); it is removed at the next clean-up."""


class TargetExists(Conflict):
    """A file of that name exists, and this uploader may not replace it."""


# -- who uploads ------------------------------------------------------------------


@dataclass(frozen=True)
class Uploader:
    """Who uploads, and where their uploads may go (what an :data:`Authenticator` returns)."""

    actor: Principal
    # Every upload lands in this folder (names below the actor's root) or below it.
    folder: tuple[str, ...] = ()
    # Whether an upload replaces a file of the same name as a new version (as PUT does).
    overwrite: bool = True
    # Where target names lead, if not into the actor's own tree: a file drop maps them
    # into its folder (and picks a free name for a new upload).
    locate: Callable[[Sequence[str], bool], Location] | None = None
    # Told of every finished upload: (name, size, Upload-Metadata, client address).
    landed: Callable[[str, int, Mapping[str, bytes], str | None], None] | None = None

    def where(self, files: FileService, target: Sequence[str], *, new: bool = False) -> Location:
        if self.locate is not None:
            return self.locate(target, new)
        return files.locate(self.actor, self.actor.login, list(target))


# Decides who sends a request, or raises NotAuthenticated / TooManyFailedLogins. The
# default takes account credentials; a file-drop link (the link token as the Basic
# user name) plugs in here as another one, and the adapter stays as it is.
Authenticator = Callable[[Request], Awaitable[Uploader]]

# A login name no account can have: what a failed bearer token is recorded under.
_NO_LOGIN = "(app password)"


def _login_of_app_password(accounts: AccountService, token: str) -> str | None:
    # One indexed lookup (token_hash is unique); AccountService.authenticate then
    # verifies, throttles and audits as for Basic. Belongs in AccountService.
    with accounts.db.read() as s:
        login: str | None = s.scalar(
            select(User.login)
            .join(AppPassword, AppPassword.user_id == User.id)
            .where(AppPassword.token_hash == token_hash(token))
        )
        return login


# Opens a file drop from its link token and password (the Basic credentials), or raises.
DropOpener = Callable[[str, str | None, str | None], Uploader]


def drop_or_account_authenticator(
    accounts: AccountService, open_drop: DropOpener, sessions: SessionService | None = None
) -> Authenticator:
    """A file-drop link (Basic with the link token as user name, the link's password as
    password) or an account: account logins always have an ``@``, tokens never. With
    ``sessions``, also the web interface's uploader: no ``Authorization``, the web
    session cookie and that session's CSRF token in ``X-CSRF-Token``."""
    by_account = account_authenticator(accounts)
    by_session = session_authenticator(sessions) if sessions is not None else None

    async def authenticate(request: Request) -> Uploader:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value.strip()).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise NotAuthenticated("malformed Basic credentials") from None
            if user and "@" not in user:
                client = request.client.host if request.client else None
                return await run(open_drop, user, password or None, client)
        if not scheme and by_session is not None and session_token(request) is not None:
            return await by_session(request)
        return await by_account(request)

    return authenticate


class SessionRefused(Forbidden):
    """A web session that has ended, or a request without its CSRF token: 403, with no
    Basic challenge (a browser would put up its own log-in dialog for that)."""


def session_authenticator(sessions: SessionService) -> Authenticator:
    """The browser's web session (cookie), checked against CSRF with ``X-CSRF-Token``:
    the cookie alone goes along with any other site's request, the token does not."""

    async def authenticate(request: Request) -> Uploader:
        token = session_token(request)
        if token is None:
            raise SessionRefused("not logged in")
        try:
            info = await run(sessions.resume, token)
        except NotAuthenticated:
            raise SessionRefused("the session has ended; log in again") from None
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, info.csrf):
            raise SessionRefused("the X-CSRF-Token header is missing or wrong")
        return Uploader(info.principal)

    return authenticate


def account_authenticator(accounts: AccountService) -> Authenticator:
    """HTTP Basic (password or app password), or ``Authorization: Bearer <app password>``."""

    async def authenticate(request: Request) -> Uploader:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return Uploader(await basic_authenticate(request, accounts))
        token = value.strip()
        if not token:
            raise NotAuthenticated("authentication required")
        login = await run(_login_of_app_password, accounts, token)
        client = request.client.host if request.client else None
        actor = await run(accounts.authenticate, login or _NO_LOGIN, token, client=client)
        return Uploader(actor)

    return authenticate


# -- responses ------------------------------------------------------------------------


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status, headers=headers, media_type="text/plain")


# The statuses tus names (or its clients act on), most specific first. Everything
# else is answered as the WebDAV adapter answers it (401, 403, 423, 429, 500...).
STATUS: list[tuple[type[BaseException], int]] = [
    (th.UnsupportedVersion, 412),
    (th.UnsupportedMediaType, 415),
    (ChecksumMismatch, 460),  # tus checksum: "460 Checksum Mismatch"
    (PartsExceedLength, 413),
    (PayloadTooLarge, 413),
    (QuotaExceeded, 413),
    (UploadExpired, 410),
    (UploadNotFound, 404),
    (OffsetMismatch, 409),
    (TargetExists, 409),
    (IsCollection, 409),  # WebDAV says 405 (the method); here the name is what is wrong
    (BadRequest, 400),
]


def error_response(exc: Exception) -> Response:
    """A plain-text answer (tus clients show it as it is), with the status tus expects."""
    for cls, status in STATUS:
        if isinstance(exc, cls):
            assert isinstance(exc, ThvcError)
            headers = {"Tus-Version": th.VERSION} if status == 412 else None
            return _text(status, exc.message, headers)
    dav = to_response(exc)  # logs what is unexpected
    if not isinstance(exc, ThvcError):
        return dav
    kept = {k: v for k, v in dav.headers.items() if k in ("www-authenticate", "retry-after")}
    return _text(dav.status_code, exc.message, kept)


# -- one request --------------------------------------------------------------------


@dataclass(frozen=True)
class TusContext:
    """One request, authenticated, naming the upload collection or one upload."""

    request: Request
    app: TusApp
    uploader: Uploader
    # The upload's id (the session's name), or None for the collection.
    upload_id: str | None

    @property
    def actor(self) -> Principal:
        return self.uploader.actor

    @property
    def uploads(self) -> UploadService:
        return self.app.uploads

    @property
    def client(self) -> str | None:
        return self.request.client.host if self.request.client else None

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def location(self, upload_id: str) -> str:
        return f"{self.app.prefix}/{upload_id}"

    async def session(self) -> UploadInfo:
        """The upload the URL names: 404 if none (or another user's), 410 once expired."""
        if self.upload_id is None:
            raise UploadNotFound("name an upload: POST here creates one")
        upload = await run(self.uploads.get_session, self.actor, KIND, self.upload_id)
        if self.uploads.is_expired(upload):
            raise UploadExpired()
        return upload

    def expires(self, upload: UploadInfo) -> dict[str, str]:
        return {"Upload-Expires": http_date(self.uploads.expires_at(upload))}


def _target_of(upload: UploadInfo) -> tuple[str, ...]:
    target = upload.target
    assert target, "a tus session always has a target"
    return target


def _body_announced(ctx: TusContext) -> bool:
    length = ctx.header("content-length")
    return bool(ctx.header("transfer-encoding")) or (length is not None and length.strip() != "0")


async def _append(ctx: TusContext, upload: UploadInfo, offset: int) -> tuple[int, UploadInfo]:
    """Store the request body as the part at ``offset``; returns the new offset and the session.

    A body that would pass the declared length is refused (413) before a byte
    beyond it is stored. A body cut off mid-way is kept as far as it arrived
    (tus: the client resumes after it), unless a checksum came with it, which
    only the whole body can match. A checksum mismatch discards the part (460).
    """
    checksum = th.parse_checksum(ctx.header("upload-checksum"))
    declared = th.number("Content-Length", ctx.header("content-length"))
    remaining = None if upload.length is None else upload.length - offset
    if declared is not None and remaining is not None and declared > remaining:
        raise PayloadTooLarge(
            f"the body of {declared} bytes passes the upload's length ({remaining} bytes left)"
        )
    if declared == 0:
        return offset, upload
    part = await run(
        ctx.uploads.begin_part,
        ctx.actor,
        upload,
        str(offset),
        offset,
        length=declared,
        checksum=checksum.core if checksum else None,
        room_at=(
            await run(ctx.uploader.where, ctx.app.files, _target_of(upload))
            if ctx.uploader.locate is not None
            else None
        ),
    )
    try:
        await pump(ctx.request, part.write, limit=remaining)
        if part.size == 0:
            await run(ctx.uploads.abort_part, part)
            return offset, upload
        if declared is not None and declared != part.size:
            raise BadRequest("the body is shorter than its Content-Length")
        info = await run(ctx.uploads.finish_part, part, actor=ctx.actor, client=ctx.client)
    except ClientDisconnect:
        if part.size and checksum is None:
            log.info("client went away after %d bytes at offset %d; kept", part.size, offset)
            await run(ctx.uploads.finish_part, part, actor=ctx.actor, client=ctx.client)
        else:
            await run(ctx.uploads.abort_part, part)
        raise
    except BaseException:
        if part.info is None:  # finish_part cleans up after itself
            await run(ctx.uploads.abort_part, part)
        raise
    return offset + info.size, await run(ctx.uploads.get_session, ctx.actor, KIND, upload.name)


async def _assemble(ctx: TusContext, upload: UploadInfo) -> None:
    """All bytes are in: stream the parts into the target file, then the session goes."""
    dst = await run(ctx.uploader.where, ctx.app.files, _target_of(upload))
    given = upload.meta.get(META_TYPE)
    try:
        entry, _ = await run(
            ctx.uploads.assemble,
            ctx.actor,
            upload,
            dst,
            content_type=guess_type(given if isinstance(given, str) else None, dst.segments[-1]),
            if_none_match=not ctx.uploader.overwrite,
            client=ctx.client,
        )
    except PreconditionFailed:
        # Only if_none_match is sent: a 412 would tell a tus client its version is wrong.
        raise TargetExists(f"{dst.segments[-1]!r} exists already") from None
    if ctx.uploader.landed is not None:
        raw = upload.meta.get(META_HEADER)
        metadata = th.parse_metadata(raw if isinstance(raw, str) else None)
        await run(ctx.uploader.landed, entry.name, entry.size, metadata, ctx.client)


def _complete(upload: UploadInfo, offset: int) -> bool:
    return upload.length is not None and offset >= upload.length


# -- the methods ----------------------------------------------------------------------


def _capabilities(upload_id: str | None) -> dict[str, str]:
    return {
        "Tus-Version": th.VERSION,
        "Tus-Extension": ",".join(th.EXTENSIONS),
        "Tus-Checksum-Algorithm": ",".join(sorted(th.CHECKSUMS)),
        "Allow": ALLOW_UPLOAD if upload_id else ALLOW_COLLECTION,
    }


async def do_OPTIONS(ctx: TusContext) -> Response:
    """What this server speaks (tus 1.0 §OPTIONS); ``Tus-Max-Size`` is the caller's quota."""
    headers = _capabilities(ctx.upload_id)
    if ctx.uploader.locate is not None:
        room = (await run(ctx.app.files.quota, await run(ctx.uploader.where, ctx.app.files, ())))[1]
    else:
        room = await run(ctx.uploads.room, ctx.actor, ctx.uploader.folder or None)
    if room is not None:
        headers["Tus-Max-Size"] = str(room)
    return Response(b"", 204, headers=headers)


async def do_HEAD(ctx: TusContext) -> Response:
    """The offset to resume from (tus 1.0 §HEAD), never cached."""
    upload = await ctx.session()
    if _complete(upload, upload.received):
        # Every byte arrived but the assembly did not happen (it failed, or the
        # server stopped in between): a client seeing offset == length would stop
        # here, so assemble now, or answer why that is impossible.
        await _assemble(ctx, upload)
    headers = {"Upload-Offset": str(upload.received), "Cache-Control": "no-store"}
    if upload.length is None:
        headers["Upload-Defer-Length"] = "1"
    else:
        headers["Upload-Length"] = str(upload.length)
    raw = upload.meta.get(META_HEADER)
    if isinstance(raw, str) and raw:
        headers["Upload-Metadata"] = raw
    if not _complete(upload, upload.received):
        headers.update(ctx.expires(upload))
    return Response(b"", 200, headers=headers)


async def do_POST(ctx: TusContext) -> Response:
    """Create an upload (tus creation), with its first bytes if the body carries them."""
    if ctx.upload_id is not None:
        return _text(405, "POST creates uploads at the collection", {"Allow": ALLOW_UPLOAD})
    length = th.number("Upload-Length", ctx.header("upload-length"))
    defer = ctx.header("upload-defer-length")
    if defer is not None and defer.strip() != "1":
        raise BadRequest("Upload-Defer-Length must be 1")
    if (length is None) == (defer is None):
        raise BadRequest("send either Upload-Length or Upload-Defer-Length: 1")
    with_body = _body_announced(ctx)
    if with_body and not th.is_offset_stream(ctx.header("content-type")):
        raise th.UnsupportedMediaType(f"a body sent with POST must be {th.OFFSET_TYPE}")
    raw = ctx.header("upload-metadata") or ""
    metadata = th.parse_metadata(raw)
    upload_id = secrets.token_hex(ID_BYTES)
    name = th.text(metadata, "filename", "name")
    folder = th.folder_segments(th.text(metadata, "folder"))
    target = (*ctx.uploader.folder, *folder, paths.check_name(name or upload_id))
    dst: Location = await run(ctx.uploader.where, ctx.app.files, target, new=True)
    try:
        await run(
            ctx.uploads.check_target,
            ctx.actor,
            dst,
            length=length,
            if_none_match=not ctx.uploader.overwrite,
        )
    except ParentMissing:
        where = "/".join(dst.segments[:-1])
        raise ParentMissing(f"the folder {where!r} does not exist") from None
    except IsCollection:
        raise IsCollection(f"{dst.segments[-1]!r} is a folder") from None
    except PreconditionFailed:
        raise TargetExists(f"{dst.segments[-1]!r} exists already") from None
    meta: dict[str, Any] = {META_HEADER: raw.strip()}
    kind = th.text(metadata, "filetype", "type")
    if kind:
        meta[META_TYPE] = kind
    upload = await run(
        ctx.uploads.open_session,
        ctx.actor,
        KIND,
        upload_id,
        length,
        meta,
        target=dst,
        client=ctx.client,
    )
    offset = 0
    try:
        if with_body:
            # tus creation-with-upload. If this fails the client has no URL to
            # resume at, so the session goes with it and the client starts over.
            offset, upload = await _append(ctx, upload, 0)
        if _complete(upload, offset):
            await _assemble(ctx, upload)
    except BaseException:
        with contextlib.suppress(UploadNotFound):
            await run(ctx.uploads.delete_session, ctx.actor, upload, client=ctx.client)
        raise
    headers = {"Location": ctx.location(upload_id), "Upload-Offset": str(offset)}
    if not _complete(upload, offset):
        headers.update(ctx.expires(upload))
    return Response(b"", 201, headers=headers)


async def do_PATCH(ctx: TusContext) -> Response:
    """Append the body at ``Upload-Offset`` (tus 1.0 §PATCH); the last byte assembles the file."""
    if not th.is_offset_stream(ctx.header("content-type")):
        raise th.UnsupportedMediaType(f"PATCH needs Content-Type: {th.OFFSET_TYPE}")
    offset = th.number("Upload-Offset", ctx.header("upload-offset"))
    if offset is None:
        raise BadRequest("the Upload-Offset header is missing")
    upload = await ctx.session()
    length = th.number("Upload-Length", ctx.header("upload-length"))
    if length is not None and length != upload.length:
        if upload.length is not None:
            raise BadRequest(f"the upload's length is {upload.length} already; it cannot change")
        if length < upload.received:
            raise BadRequest(f"{upload.received} bytes have arrived already, more than {length}")
        # creation-defer-length: the length, once known, comes with a PATCH.
        upload = await run(ctx.uploads.set_length, ctx.actor, upload, length, client=ctx.client)
    if offset != upload.received:
        raise OffsetMismatch(upload.received, offset)
    offset, upload = await _append(ctx, upload, offset)
    headers = {"Upload-Offset": str(offset)}
    if _complete(upload, offset):
        await _assemble(ctx, upload)
    else:
        headers.update(ctx.expires(upload))
    return Response(b"", 204, headers=headers)


async def do_DELETE(ctx: TusContext) -> Response:
    """Abandon the upload (tus termination): its parts go, its URL answers 404."""
    upload = await ctx.session()
    await run(ctx.uploads.delete_session, ctx.actor, upload, client=ctx.client)
    return Response(b"", 204)


Handler = Callable[[TusContext], Awaitable[Response]]

HANDLERS: dict[str, Handler] = {
    "OPTIONS": do_OPTIONS,
    "HEAD": do_HEAD,
    "POST": do_POST,
    "PATCH": do_PATCH,
    "DELETE": do_DELETE,
}


class TusApp:
    """An ASGI app serving tus 1.0 at ``{prefix}/`` (create) and ``{prefix}/{id}`` (uploads)."""

    def __init__(
        self,
        prefix: str,
        *,
        settings: Settings,
        accounts: AccountService,
        files: FileService,
        uploads: UploadService,
        authenticate: Authenticator | None = None,
    ) -> None:
        assert prefix.startswith("/") and not prefix.endswith("/")
        self.prefix = prefix
        self.settings = settings
        self.files = files
        self.uploads = uploads
        self.authenticate = authenticate or account_authenticator(accounts)

    def _upload_id(self, request: Request) -> str | None:
        path: str = request.scope["path"]
        rest = path[len(self.prefix) :].strip("/")
        if not rest:
            return None
        if not ID_PATTERN.fullmatch(rest):
            raise UploadNotFound()  # deeper paths, other names: nothing lives there
        return rest

    async def handle(self, request: Request) -> Response:
        method = request.method.upper()
        override = request.headers.get("x-http-method-override")
        if method == "POST" and override:
            # For clients behind proxies that pass only GET and POST (tus 1.0 §Features).
            method = override.strip().upper()
        handler = HANDLERS.get(method)
        try:
            upload_id = self._upload_id(request)
            if handler is None:
                allow = ALLOW_UPLOAD if upload_id else ALLOW_COLLECTION
                return _text(405, f"{method[:20]} is not supported here", {"Allow": allow})
            if method == "OPTIONS":
                if "authorization" not in request.headers:
                    # Discovery needs no account; Tus-Max-Size then is not announced.
                    return Response(b"", 204, headers=_capabilities(upload_id))
            else:
                th.check_version(request.headers.get("tus-resumable"))
            uploader = await self.authenticate(request)
            return await handler(TusContext(request, self, uploader, upload_id))
        except ClientDisconnect:
            log.info("client went away during %s %s", method, request.url.path)
            return _text(400, "the request body was not received completely")
        except Exception as exc:  # mapped once, here
            return error_response(exc)

    async def __call__(self, scope: object, receive: object, send: object) -> None:
        request = Request(scope, receive)  # type: ignore[arg-type]
        response = await self.handle(request)
        # tus 1.0 §Tus-Resumable: in every response.
        response.headers["Tus-Resumable"] = th.VERSION
        await response(scope, receive, send)  # type: ignore[arg-type]
