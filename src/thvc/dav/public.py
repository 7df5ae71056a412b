"""Public WebDAV, as Nextcloud serves it: a link's tree for anyone who holds its token.

Two trees, both over the same method modules as the users' trees:

- ``/public.php/webdav/{path}``: the token is the HTTP Basic user name, the link's
  password (if it has one) the Basic password.
- ``/public.php/dav/files/{token}/{path}``: the token is in the URL; a link with a
  password wants it as the Basic password (the user name is not looked at).

What a visitor may do is what the link's kind grants, decided by the core
(``SharingService.open_link`` hands out a Location with the link's permissions):
a read link reads, a read-write link does everything a user may do in a folder.
A file drop takes new files only: PUT of a name directly in the folder, never
over an existing file: a name that is taken gets a suffix (``plan (2).pdf``), as
on the drop page, so that a visitor can neither overwrite nor find out what is
there. PROPFIND of the drop's root shows the root alone; GET finds nothing.

An expired, revoked, used-up or unknown link is 404 everywhere, with nothing to
tell these apart.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from thvc.accounts.services import AccountService
from thvc.dav import responses
from thvc.dav.app import DavApp
from thvc.dav.context import NoTree, Prefetch, Resolved, run
from thvc.dav.errors import to_response
from thvc.errors import Forbidden, NotAuthenticated
from thvc.files import paths
from thvc.files.errors import NodeNotFound
from thvc.files.services import FileService, Location
from thvc.settings import Settings
from thvc.sharing.models import LinkKind
from thvc.sharing.services import LinkAccess, LinkGone, SharingService

# What a file drop answers at all; everything else is 403.
DROP_METHODS = frozenset({"OPTIONS", "PROPFIND", "HEAD", "GET", "PUT"})
# Where the body-counting wrapper leaves the number of bytes a request carried.
BODY_BYTES = "thvc.public.body_bytes"


def _basic(request: Request) -> tuple[str, str] | None:
    """(user, password) of an HTTP Basic ``Authorization`` header, None without one."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        return None
    if scheme.lower() != "basic" or not value:
        raise NotAuthenticated("use HTTP Basic: the link's token as user, its password")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthenticated("malformed Basic credentials") from None
    user, sep, secret = decoded.partition(":")
    if not sep:
        raise NotAuthenticated("malformed Basic credentials")
    return user, secret


class LinkTrees:
    """Resolution for public links: the token (from the URL or the Basic user name)
    opens the link, and URL segments lead below the linked folder."""

    def __init__(self, sharing: SharingService, files: FileService, *, token_in_url: bool) -> None:
        self.sharing = sharing
        self.files = files
        self.token_in_url = token_in_url

    async def resolve(
        self, request: Request, rest: bytes, prefetch: Prefetch | None = None
    ) -> Resolved:
        # A link's resolution takes several trips already: ``prefetch`` is not run.
        credentials = _basic(request)
        if self.token_in_url:
            head, _, tail = rest.lstrip(b"/").partition(b"/")
            if not head:
                raise NoTree("name a link: /public.php/dav/files/TOKEN/")
            token = _token(head)
            password = credentials[1] if credentials else None
        else:
            if credentials is None:
                raise NotAuthenticated("the link's token is the user name")
            token, password = credentials
            tail = rest
        segments = paths.segments_from_url(tail)
        client = request.client.host if request.client else None
        access = await run(self.sharing.open_link, token, password or None, client=client)
        method = request.method.upper()
        if access.kind is LinkKind.DROP and method not in DROP_METHODS:
            raise Forbidden("a file drop takes new files (PUT) and nothing else")
        root, hidden = _root(access)
        loc = await self._below(access, root, segments, method)

        async def locate(other: bytes) -> Location:
            if self.token_in_url:
                head, _, other = other.partition(b"/")
                if _token(head) != token:
                    raise NodeNotFound()
            return await self._below(access, root, paths.segments_from_url(other), method)

        async def done(response: Response) -> Response:
            return await self._done(request, access, loc, response)

        return Resolved(access.actor, token, loc, locate, hidden=hidden, done=done)

    async def _below(
        self, access: LinkAccess, root: Location, segments: list[str], method: str
    ) -> Location:
        if not segments:
            return root
        if not access.is_dir:
            raise NodeNotFound()
        if access.kind is LinkKind.DROP:
            # Only new files directly in the drop: a taken name gets a free one instead.
            if len(segments) != 1 or method != "PUT":
                raise NodeNotFound()
            return root.child(await run(self.files.unused_name, root, segments[0]))
        loc = root
        for name in segments:
            loc = loc.child(name)
        return loc

    async def _done(
        self, request: Request, access: LinkAccess, loc: Location, response: Response
    ) -> Response:
        """A download counts against the link's limit (once per download: a Range that
        starts later is a resumption); a drop is recorded for the owner."""
        method = request.method.upper()
        client = request.client.host if request.client else None
        if method == "GET" and response.status_code in (200, 206):
            directory = response.headers.get("content-type", "").startswith("httpd/")
            whole = response.headers.get("content-range", "bytes 0-").startswith("bytes 0-")
            if not directory and whole:
                try:
                    await run(self.sharing.count_download, access, client=client)
                except LinkGone as exc:
                    return to_response(exc)
        elif method == "PUT" and access.kind is LinkKind.DROP and response.status_code == 201:
            size = request.scope.get("state", {}).get(BODY_BYTES, 0)
            await run(self.sharing.record_drop, access, loc.segments[-1], size, client=client)
        return response


def _token(raw: bytes) -> str:
    """A token as it can appear in a URL segment (anything else is simply unknown)."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise LinkGone() from None
    if not text or len(text) > 200 or not all(c.isalnum() or c in "-_" for c in text):
        raise LinkGone()
    return text


def _root(access: LinkAccess) -> tuple[Location, int]:
    """The link's root, and how many of its segments URLs leave out.

    A link to one file is that file at the root of the URL tree; its Location gets
    the file's name as its only segment (the file service names what it opens by
    its last segment), which hrefs do not show.
    """
    if access.is_dir:
        return access.loc, 0
    return dataclasses.replace(access.loc, segments=(access.name,)), 1


class PublicDav:
    """``/public.php``: the two public WebDAV trees, and nothing else (404)."""

    def __init__(
        self,
        *,
        settings: Settings,
        accounts: AccountService,
        files: FileService,
        sharing: SharingService,
        prefix: str = "/public.php",
    ) -> None:
        def tree(path: str, *, token_in_url: bool) -> DavApp:
            return DavApp(
                prefix + path,
                settings=settings,
                accounts=accounts,
                files=files,
                login_in_url=token_in_url,
                resolver=LinkTrees(sharing, files, token_in_url=token_in_url),
            )

        self.trees = [
            (prefix + "/webdav", tree("/webdav", token_in_url=False)),
            (prefix + "/dav/files", tree("/dav/files", token_in_url=True)),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        for prefix, app in self.trees:
            if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
                await app(scope, _counting(scope, receive), send)
                return
        response = responses.error(404, "no such public tree: use /public.php/webdav/")
        await response(scope, receive, send)


def _counting(scope: Scope, receive: Receive) -> Receive:
    """``receive``, adding up the body's bytes in the request's state (for drops)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    state[BODY_BYTES] = 0

    async def counted() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            state[BODY_BYTES] += len(message.get("body", b""))
        return message

    return counted


__all__ = ["DROP_METHODS", "LinkTrees", "PublicDav"]
