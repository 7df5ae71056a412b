"""The ASGI application: every protocol adapter mounted over one set of services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from thvc import __version__
from thvc.api.app import create_api
from thvc.compat.chunking import ChunkingApp
from thvc.compat.routes import compat_routes
from thvc.dav.app import DavApp
from thvc.dav.public import PublicDav
from thvc.db.migrate import check_current
from thvc.services import Services, build_services
from thvc.settings import Settings, load_settings
from thvc.uploads.drops import drop_opener
from thvc.uploads.tus import TusApp, drop_or_account_authenticator
from thvc.web.app import create_web
from thvc.web.assets import PREFIX as STATIC_PREFIX
from thvc.web.assets import Assets
from thvc.web.invitations import PREFIX as INVITE_PREFIX
from thvc.web.invitations import InvitationPages
from thvc.web.links import PREFIX as LINKS_PREFIX
from thvc.web.links import LinkPages

log = logging.getLogger("thvc")


class PrefixDispatch:
    """Send each request under a protocol prefix straight to its adapter.

    WebDAV paths may hold any character a file name may (a newline too), which
    regex routes do not match; a prefix test is also cheaper per request.
    """

    def __init__(self, fallback: ASGIApp, mounts: list[tuple[str, ASGIApp]]) -> None:
        self.fallback = fallback
        self.mounts = mounts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            for prefix, target in self.mounts:
                if path.startswith(prefix) and (
                    len(path) == len(prefix) or path[len(prefix)] == "/"
                ):
                    await target(scope, receive, send)
                    return
        await self.fallback(scope, receive, send)


def create_app(settings: Settings | None = None, services: Services | None = None) -> ASGIApp:
    settings = settings or load_settings()
    svc = services or build_services(settings)
    check_current(svc.db)

    def dav(prefix: str, *, login_in_url: bool = True) -> DavApp:
        return DavApp(
            prefix,
            settings=settings,
            accounts=svc.accounts,
            files=svc.files,
            login_in_url=login_in_url,
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        yield
        svc.close()

    # status.php, the OCS API and Login Flow v2, and what is not a file protocol.
    rest = Starlette(
        routes=[Route("/health", health), *compat_routes(settings, svc)], lifespan=lifespan
    )
    # The web interface answers whatever no route above does (as the router's default,
    # not a catch-all route: a known path with a wrong method stays a 405).
    rest.router.default = create_web(settings, svc)
    rest.state.services = svc
    uploads = ChunkingApp(
        "/remote.php/dav/uploads",
        settings=settings,
        accounts=svc.accounts,
        files=svc.files,
        uploads=svc.uploads,
    )
    return PrefixDispatch(
        rest,
        [
            ("/dav/files", dav("/dav/files")),
            # What the Nextcloud and ownCloud clients use: the same tree, the same core.
            ("/remote.php/dav/files", dav("/remote.php/dav/files")),
            ("/remote.php/webdav", dav("/remote.php/webdav", login_in_url=False)),
            ("/remote.php/dav/uploads", uploads),
            # Public links: the visitors' pages, and public WebDAV as Nextcloud serves it.
            (
                LINKS_PREFIX,
                LinkPages(
                    settings=settings, files=svc.files, sharing=svc.sharing, secret=svc.web_secret
                ),
            ),
            (
                "/public.php",
                PublicDav(
                    settings=settings, accounts=svc.accounts, files=svc.files, sharing=svc.sharing
                ),
            ),
            (STATIC_PREFIX, Assets()),
            (
                INVITE_PREFIX,
                InvitationPages(
                    settings=settings, invitations=svc.invitations, secret=svc.web_secret
                ),
            ),
            (
                "/api/v1/uploads",
                TusApp(
                    "/api/v1/uploads",
                    settings=settings,
                    accounts=svc.accounts,
                    files=svc.files,
                    uploads=svc.uploads,
                    authenticate=drop_or_account_authenticator(
                        svc.accounts, drop_opener(svc.sharing, svc.files), svc.sessions
                    ),
                ),
            ),
            # The JSON API; after the tus endpoint above, whose prefix lies inside its own.
            ("/api/v1", create_api(settings, svc)),
        ],
    )
