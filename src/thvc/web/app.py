"""The web interface: one Starlette app, its routes gathered from the page modules."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from thvc.services import Services
from thvc.settings import Settings
from thvc.web import assets, i18n
from thvc.web.admin_pages import AdminPages
from thvc.web.files_pages import FilesPages
from thvc.web.i18n import gettext as tr
from thvc.web.login import LoginPages
from thvc.web.operator_pages import OperatorPages
from thvc.web.settings_pages import SettingsPages
from thvc.web.sharing_pages import SharingPages
from thvc.web.ui import Ui


def create_web(settings: Settings, services: Services) -> Starlette:
    """Every page of the logged-in interface (the link and invitation pages are apart)."""
    assets.load()
    i18n.load()
    ui = Ui(settings, services)

    async def accessibility(request: Request) -> Response:
        who = await ui.current(request)
        return ui.render(
            request,
            who,
            "ui_accessibility.html",
            title=i18n.gettext(
                who.lang if who else i18n.language(request), "Accessibility statement"
            ),
        )

    async def not_found(request: Request, exc: Exception) -> Response:
        who = await ui.current(request)
        lang = who.lang if who else i18n.language(request)
        return ui.message(
            request,
            who,
            tr(lang, "Not found"),
            tr(lang, "There is no page at this address."),
            status=404,
        )

    routes: list[BaseRoute] = [
        *LoginPages(ui).routes(),
        *SettingsPages(ui).routes(),
        *FilesPages(ui).routes(),
        *SharingPages(ui).routes(),
        *AdminPages(ui).routes(),
        *OperatorPages(ui).routes(),
        Route("/accessibility", accessibility, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found})
