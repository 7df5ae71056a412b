"""The WebDAV endpoint: authenticate, resolve the path, dispatch to ``do_<METHOD>``."""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from thvc.accounts.services import AccountService, Principal
from thvc.dav import (
    copy,
    delete,
    get,
    lock,
    mkcol,
    move,
    options,
    propfind,
    proppatch,
    put,
    responses,
)
from thvc.dav.context import (
    DavContext,
    Early,
    NoTree,
    Prefetch,
    Resolved,
    Resolver,
    run,
    run_light,
)
from thvc.dav.errors import CHALLENGE, to_response
from thvc.dav.ifheader import State, evaluate, parse_if, submitted_tokens
from thvc.errors import BadRequest, NotAuthenticated, PreconditionFailed, ThvcError
from thvc.files import paths
from thvc.files.services import FileService, Location
from thvc.settings import Settings

Handler = Callable[[DavContext], Awaitable[Response]]

HANDLERS: dict[str, Handler] = {
    "OPTIONS": options.do_OPTIONS,
    "PROPFIND": propfind.do_PROPFIND,
    "PROPPATCH": proppatch.do_PROPPATCH,
    "GET": get.do_GET,
    "HEAD": get.do_HEAD,
    "PUT": put.do_PUT,
    "DELETE": delete.do_DELETE,
    "MKCOL": mkcol.do_MKCOL,
    "COPY": copy.do_COPY,
    "MOVE": move.do_MOVE,
    "LOCK": lock.do_LOCK,
    "UNLOCK": lock.do_UNLOCK,
}


# The reads a method starts with, done where the URL is resolved (see Early).
PREFETCH: dict[str, Prefetch] = {"GET": get.prefetch_GET, "HEAD": get.prefetch_HEAD}


def credentials(request: Request) -> tuple[str, str, str | None]:
    """(login, secret, client address) of the request's HTTP Basic credentials."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        raise NotAuthenticated("authentication required")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthenticated("malformed Basic credentials") from None
    login, sep, secret = decoded.partition(":")
    if not sep:
        raise NotAuthenticated("malformed Basic credentials")
    return login, secret, request.client.host if request.client else None


async def authenticate(request: Request, accounts: AccountService) -> Principal:
    login, secret, client = credentials(request)
    return await run(accounts.authenticate, login, secret, client=client)


async def check_if(ctx: DavContext, value: str) -> DavContext:
    """Evaluate the If header (RFC 4918 §10.4) and record the tokens it submits.

    When no list holds the answer is 412 (§10.4.1); when one holds but the
    target is locked by a lock it does not submit, the core answers 423.
    """
    lists = parse_if(value)
    states: dict[str | None, State | None] = {}
    for lst in lists:
        if lst.resource in states:
            continue
        if lst.resource is None:
            states[None] = await run(ctx.files.lock_state, ctx.loc)
            continue
        try:
            where = await ctx.resolve_url(lst.resource)
            states[lst.resource] = await run(ctx.files.lock_state, where)
        except ThvcError:
            states[lst.resource] = None  # not one of ours: that list cannot hold
    if not evaluate(lists, states.get):
        raise PreconditionFailed("the If header's conditions do not hold")
    return dataclasses.replace(ctx, tokens=frozenset(submitted_tokens(lists)))


class UserTrees:
    """The users' own trees: HTTP Basic as a ThVC account, then ``/{login}/{path}``
    (or, with ``login_in_url=False``, the caller's tree directly under the prefix)."""

    def __init__(
        self, accounts: AccountService, files: FileService, *, login_in_url: bool = True
    ) -> None:
        self.accounts = accounts
        self.files = files
        self.login_in_url = login_in_url

    async def resolve(
        self, request: Request, rest: bytes, prefetch: Prefetch | None = None
    ) -> Resolved:
        user, secret, client = credentials(request)

        # Authentication, resolution and the method's first read in one trip to the
        # thread pool: every request makes the first two, and each trip costs a
        # context switch. On local storage, not even that trip (thvc.onloop): they are
        # reads, and whatever would block (argon2, a login's write, a user's first
        # request creating the personal space) sends the call to the pool.
        def find() -> tuple[Principal, str, Location, Early | None]:
            actor = self.accounts.authenticate(user, secret, client=client)
            segments = paths.segments_from_url(rest)  # after: no path errors for strangers
            if not self.login_in_url:
                login, inner = actor.login, segments
            elif not segments:
                raise NoTree("name a user: /files/USER@TENANT/")
            else:
                login, inner = segments[0], segments[1:]
            loc = self.files.locate(actor, login, inner)
            early = Early.of(prefetch, self.files, loc) if prefetch is not None else None
            return actor, login, loc, early

        actor, login, loc, early = await run_light(self.files.reads_on_loop, find)

        async def locate(other: bytes) -> Location:
            if not self.login_in_url:
                return await run(
                    self.files.locate, actor, actor.login, paths.segments_from_url(other)
                )
            login_raw, _, tail = other.partition(b"/")
            named = paths.segments_from_url(login_raw)
            if len(named) != 1:
                raise BadRequest("the URL names no user")
            return await run(self.files.locate, actor, named[0], paths.segments_from_url(tail))

        return Resolved(actor, login, loc, locate, early=early)


class DavApp:
    """An ASGI app serving ``{prefix}/{login}/...`` for one URL prefix.

    With ``login_in_url=False`` it serves the caller's own tree directly under
    the prefix, as Nextcloud's legacy ``/remote.php/webdav/`` does. ``resolver``
    decides who acts and where a URL points; by default the users' own trees
    (:class:`UserTrees`), for public links :class:`thvc.dav.public.LinkTrees`.
    """

    def __init__(
        self,
        prefix: str,
        *,
        settings: Settings,
        accounts: AccountService,
        files: FileService,
        login_in_url: bool = True,
        resolver: Resolver | None = None,
    ) -> None:
        assert prefix.startswith("/") and not prefix.endswith("/")
        self.prefix = prefix
        self.login_in_url = login_in_url
        self.settings = settings
        self.accounts = accounts
        self.files = files
        self.resolver: Resolver = resolver or UserTrees(accounts, files, login_in_url=login_in_url)

    async def handle(self, request: Request) -> Response:
        method = request.method.upper()
        handler = HANDLERS.get(method)
        try:
            if handler is None:
                return responses.error(
                    501,
                    f"{method} is not supported",
                    headers={"Allow": options.ALLOW},
                )
            raw = request.scope.get("raw_path") or request.scope["path"].encode()
            raw = raw.split(b"?", 1)[0]
            if_value = request.headers.get("if")
            # An If header is evaluated before the method: no read ahead of it.
            prefetch = PREFETCH.get(method) if if_value is None else None
            try:
                found = await self.resolver.resolve(request, raw[len(self.prefix) :], prefetch)
            except NoTree:
                if method == "OPTIONS":
                    return await options.do_OPTIONS_bare()
                raise
            ctx = DavContext(
                request,
                self.files,
                self.settings,
                found.actor,
                self.prefix,
                found.login,
                found.loc,
                login_in_url=self.login_in_url,
                locator=found.locate,
                hidden=found.hidden,
                early=found.early,
            )
            if if_value is not None:
                ctx = await check_if(ctx, if_value)
            response = await handler(ctx)
            if found.done is not None:
                response = await found.done(response)
            return response
        except Exception as exc:  # mapped once, here
            return to_response(exc)

    async def __call__(self, scope: object, receive: object, send: object) -> None:
        request = Request(scope, receive)  # type: ignore[arg-type]
        response = await self.handle(request)
        await response(scope, receive, send)  # type: ignore[arg-type]


__all__ = ["CHALLENGE", "DavApp", "UserTrees"]
