"""What every method handler receives, and the request parsing they share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ParamSpec, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from thvc import onloop
from thvc.accounts.services import Principal
from thvc.errors import BadRequest, NotFound, ThvcError
from thvc.files import paths
from thvc.files.services import FileService, Location
from thvc.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")


class PayloadTooLarge(BadRequest):
    """The request body is larger than this server accepts for it."""


class BadGateway(BadRequest):
    """The Destination names another server."""


class NoTree(NotFound):
    """The URL names no tree (``/dav/files/`` itself): only OPTIONS is answered there."""


async def run(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking core call in the thread pool."""
    return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))


async def run_light(light: bool, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """:func:`run`, tried first on the event loop when ``light`` (see :mod:`thvc.onloop`):
    for reads, on a configuration whose reads are local (``FileService.reads_on_loop``).
    A call that would block is run again, from the start, in the thread pool."""
    if light:
        try:
            return onloop.call(fn, *args, **kwargs)
        except onloop.WouldBlock:
            pass
    return await run(fn, *args, **kwargs)


# The path below ``{prefix}/`` of another URL of the same tree (still percent-encoded),
# resolved for the same caller: Destination and If headers.
Locator = Callable[[bytes], Awaitable[Location]]


# A method's first read of the core, which the resolver may run in the same trip to the
# thread pool as the authentication and the lookup of the URL (see Early).
Prefetch = Callable[[FileService, Location], object]


@dataclass(frozen=True, slots=True)
class Early:
    """What a :data:`Prefetch` gave: its value, or the error it raised for the handler to
    raise where it would have raised it.

    A small GET or HEAD is one read after the resolution; doing both in one trip to the
    thread pool spares a context switch and a pass through the event loop per request.
    """

    value: object = None
    error: ThvcError | None = None

    def get(self) -> object:
        if self.error is not None:
            raise self.error
        return self.value

    @classmethod
    def of(cls, prefetch: Prefetch, files: FileService, loc: Location) -> Early:
        try:
            return cls(prefetch(files, loc))
        except ThvcError as exc:
            return cls(error=exc)


@dataclass(frozen=True)
class Resolved:
    """Who acts, and where the request URL points, as a :class:`Resolver` found them."""

    actor: Principal
    # What names the tree in URLs (a login, a link token), or the actor's login when
    # the URLs name none.
    login: str
    loc: Location
    locate: Locator
    # Leading segments of ``loc.segments`` that the URL does not show: a link to one
    # file is that file in the core and the tree's root in the URL.
    hidden: int = 0
    # Called with the method's response before it is sent (a link counts downloads).
    done: Callable[[Response], Awaitable[Response]] | None = None
    # The prefetch's outcome, when the resolver ran the one it was given.
    early: Early | None = None


class Resolver(Protocol):
    """The resolution step of a WebDAV tree: a request and the raw path below the
    prefix (``b"/anna@lauscha/a%20b.txt"``) to (actor, Location).

    Raises NotAuthenticated (401 with a challenge), TooManyFailedLogins (429),
    NotFound (404) or :class:`NoTree` where the URL names no tree at all. It may run
    ``prefetch`` on the location it found, in the same thread, and return its
    :class:`Early` outcome; a handler does the read itself when there is none.
    """

    async def resolve(
        self, request: Request, rest: bytes, prefetch: Prefetch | None = None
    ) -> Resolved: ...


@dataclass(frozen=True)
class DavContext:
    """One request, authenticated and resolved."""

    request: Request
    files: FileService
    settings: Settings
    actor: Principal
    prefix: str  # e.g. "/dav/files" or "/remote.php/dav/files"
    login: str  # the login named in the URL (or the actor's, for the legacy tree)
    loc: Location
    # Lock tokens the request submitted in its If header (RFC 4918 §10.4).
    tokens: frozenset[str] = frozenset()

    @property
    def client(self) -> str | None:
        return self.request.client.host if self.request.client else None

    def href(self, segments: tuple[str, ...], is_dir: bool) -> str:
        path = "".join("/" + quote(s, safe="") for s in segments[self.hidden :])
        tail = "/" if is_dir else ""
        return f"{self.root}{path}{tail}"

    # Whether URLs name the user (``/dav/files/anna@lauscha/``) or not (``/remote.php/webdav/``).
    login_in_url: bool = True
    # How the tree's resolver finds other URLs (None: the user's own tree, by login).
    locator: Locator | None = None
    # Leading segments of Location.segments not shown in URLs (see Resolved.hidden).
    hidden: int = 0
    # The method's prefetch, run by the resolver (see Early); None: not run.
    early: Early | None = None

    @property
    def root(self) -> str:
        """The href of the user's root folder, without the trailing slash."""
        if self.login_in_url:
            return f"{self.prefix}/{quote(self.login, safe='@')}"
        return self.prefix

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    async def read_xml_body(self) -> bytes:
        """The body, streamed into memory up to ``max_xml_body`` bytes (XML bodies only)."""
        limit = self.settings.max_xml_body
        declared = self.header("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"the XML body is larger than {limit} bytes")
        buf = bytearray()
        async for chunk in self.request.stream():
            buf += chunk
            if len(buf) > limit:
                raise PayloadTooLarge(f"the XML body is larger than {limit} bytes")
        return bytes(buf)

    async def destination(self) -> Location:
        """Resolve the Destination header (RFC 4918 §10.3) to a location of the same user."""
        raw = self.header("destination")
        if not raw:
            raise BadRequest("the Destination header is missing")
        return await self.resolve_url(raw)

    async def resolve_url(self, raw: str) -> Location:
        """An absolute URL or path of this WebDAV tree, resolved for the actor.

        Raises BadGateway for anything outside this server's tree.
        """
        parts = urlsplit(raw)
        if parts.netloc and parts.netloc != self.request.headers.get("host", parts.netloc):
            raise BadGateway("the URL is on another server")
        raw_path = (
            parts.path.encode()
            if parts.path.isascii()
            else (quote(parts.path, safe="/%@").encode())
        )
        base = f"{self.prefix}/".encode()
        if not raw_path.startswith(base):
            raise BadGateway("the URL is outside this WebDAV tree")
        rest = raw_path[len(base) :]
        if self.locator is not None:
            return await self.locator(rest)
        if not self.login_in_url:
            return await run(
                self.files.locate, self.actor, self.actor.login, paths.segments_from_url(rest)
            )
        login_raw, _, tail = rest.partition(b"/")
        login = paths.segments_from_url(login_raw)
        if len(login) != 1:
            raise BadRequest("the URL names no user")
        return await run(self.files.locate, self.actor, login[0], paths.segments_from_url(tail))


def depth(ctx: DavContext, default: str, allowed: tuple[str, ...]) -> str:
    value = (ctx.header("depth") or default).strip().lower()
    if value not in allowed:
        raise BadRequest(f"Depth {value!r} is not allowed here (use {', '.join(allowed)})")
    return value


def overwrite(ctx: DavContext) -> bool:
    value = (ctx.header("overwrite") or "T").strip().upper()
    if value not in ("T", "F"):
        raise BadRequest("Overwrite must be T or F")
    return value == "T"


def etag_header(etag: str) -> str:
    return f'"{etag}"'


def strip_etag(value: str) -> str:
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return value.strip('"')
