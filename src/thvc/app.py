"""The ASGI application: every protocol adapter mounted over one set of services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from thvc import __version__
from thvc.compat.chunking import ChunkingApp
from thvc.compat.routes import compat_routes
from thvc.dav.app import DavApp
from thvc.db.migrate import check_current
from thvc.services import Services, build_services
from thvc.settings import Settings, load_settings

log = logging.getLogger("thvc")


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
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
        yield
        svc.close()

    app = Starlette(
        routes=[
            Route("/health", health),
            Mount("/dav/files", app=dav("/dav/files")),
            # What the Nextcloud and ownCloud clients use: the same tree, the same core.
            Mount("/remote.php/dav/files", app=dav("/remote.php/dav/files")),
            Mount("/remote.php/webdav", app=dav("/remote.php/webdav", login_in_url=False)),
            Mount(
                "/remote.php/dav/uploads",
                app=ChunkingApp(
                    "/remote.php/dav/uploads",
                    settings=settings,
                    accounts=svc.accounts,
                    files=svc.files,
                    uploads=svc.uploads,
                ),
            ),
            # status.php, the OCS API and Login Flow v2.
            *compat_routes(settings, svc),
        ],
        lifespan=lifespan,
    )
    app.state.services = svc
    return app
