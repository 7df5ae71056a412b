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
from thvc.dav.app import DavApp
from thvc.db.migrate import check_current
from thvc.services import Services, build_services
from thvc.settings import Settings, load_settings

log = logging.getLogger("thvc")


def create_app(settings: Settings | None = None, services: Services | None = None) -> Starlette:
    settings = settings or load_settings()
    svc = services or build_services(settings)
    check_current(svc.db)
    dav = DavApp("/dav/files", settings=settings, accounts=svc.accounts, files=svc.files)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        svc.close()

    app = Starlette(
        routes=[Route("/health", health), Mount("/dav/files", app=dav)],
        lifespan=lifespan,
    )
    app.state.services = svc
    return app
