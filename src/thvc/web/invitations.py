"""``/invite/{token}``: where an invited guest sets a password (once).

The token is the one-time secret from the invitation mail; whether it is still
good, and setting the password, are the accounts core's
(:class:`thvc.accounts.invitations.InvitationService`). The form carries a CSRF
token bound to a session cookie scoped to this page.
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from thvc.accounts.invitations import InvitationGone, InvitationService
from thvc.errors import BadRequest, ThvcError
from thvc.settings import Settings
from thvc.web import i18n
from thvc.web.http import run, small_form
from thvc.web.i18n import gettext as tr
from thvc.web.links import explain, message, render
from thvc.web.session import Sessions

PREFIX = "/invite"


class InvitationPages:
    def __init__(
        self, *, settings: Settings, invitations: InvitationService, secret: bytes
    ) -> None:
        self.invitations = invitations
        self.sessions = Sessions(secret, secure=settings.base_url.startswith("https://"))
        i18n.load()
        self.router = Router(
            routes=[Route(PREFIX + "/{token}", self.page, methods=["GET", "POST"])]
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.router(scope, receive, send)

    async def page(self, request: Request) -> Response:
        lang = i18n.language(request)
        token = request.path_params["token"]
        path = f"{PREFIX}/{quote(token, safe='')}"
        session = self.sessions.load(request, token)
        error = ""
        try:
            login, display = await run(self.invitations.pending, token)
            if request.method == "POST":
                form = await small_form(request)
                if not self.sessions.check_csrf(session, token, form.get("csrf", "")):
                    error = tr(lang, "The form has expired. Please try again.")
                elif form.get("password", "") != form.get("repeat", ""):
                    error = tr(lang, "The two passwords differ.")
                else:
                    client = request.client.host if request.client else None
                    try:
                        await run(
                            self.invitations.accept, token, form.get("password", ""), client=client
                        )
                    except BadRequest:
                        error = tr(lang, "The password is too short: at least 10 characters.")
                    else:
                        return message(
                            request,
                            lang,
                            tr(lang, "Password set"),
                            tr(
                                lang,
                                "You can now log in as %(login)s, in the browser or "
                                "with a Nextcloud app.",
                                login=login,
                            ),
                            status=200,
                        )
        except (InvitationGone, ThvcError) as exc:
            if isinstance(exc, InvitationGone):
                return message(
                    request,
                    lang,
                    tr(lang, "Invitation not available"),
                    tr(lang, "This invitation does not exist, was used or has expired."),
                    status=404,
                )
            problem = explain(lang, exc)
            return message(request, lang, problem.title, problem.text, status=problem.status)
        response = render(
            request,
            lang,
            "invite.html",
            status=400 if error else 200,
            title=tr(lang, "Welcome to ThVC"),
            login=login,
            display_name=display,
            action=f"{path}?lang={lang}",
            csrf=self.sessions.csrf(session, token),
            error=error,
        )
        self.sessions.store(response, session, token, path)
        return response
