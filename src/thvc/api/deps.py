"""What every handler needs besides the caller: the services, the settings, the client's address."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends
from starlette.requests import Request

from thvc.services import Services
from thvc.settings import Settings


def services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


def settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


Svc = Annotated[Services, Depends(services)]
Config = Annotated[Settings, Depends(settings)]
Client = Annotated[str | None, Depends(client_address)]
