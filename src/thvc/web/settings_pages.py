"""``/settings``: one's own account — language, password, two-step log-in, app passwords,
sessions.

Every change here is to the asking user's own account, by the core services that
own it (``AccountService``, ``SessionService``, ``TotpService``). A form that
succeeds answers with a redirect to ``/settings?done=…`` (reloading repeats
nothing); one that fails shows the page again with the error next to its form. The
two secrets the page shows — a new app password and a new TOTP secret — are only
ever in the answer to the POST that made them, never in a URL.
"""

from __future__ import annotations

import contextlib
from typing import Any

import segno
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from thvc.accounts.passwords import MIN_PASSWORD_LENGTH
from thvc.accounts.totp import Enrolment, WrongCode
from thvc.errors import (
    AlreadyExists,
    BadRequest,
    NotAuthenticated,
    NotFound,
    TooManyFailedLogins,
)
from thvc.web.http import run
from thvc.web.ui import Ui, WebUser, client_of

LANGUAGE_CHOICES = ("de", "en")


def qr_svg(uri: str, label: str) -> Markup:
    """The ``otpauth://`` URI as an inline SVG QR code (no style attribute: the CSP)."""
    svg: str = segno.make(uri, error="m").svg_inline(
        scale=5, dark="#000", light="#fff", svgclass="qr-code", lineclass=None
    )
    assert "style=" not in svg
    label = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))  # noqa: S704


def grouped(secret: str) -> str:
    """``ABCD EFGH …``: easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


class SettingsPages:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        page = self.ui.page
        return [
            Route("/settings", page(self.show), methods=["GET"]),
            Route("/settings/language", page(self.language), methods=["POST"]),
            Route("/settings/name", page(self.name), methods=["POST"]),
            Route("/settings/password", page(self.password), methods=["POST"]),
            Route("/settings/totp/begin", page(self.totp_begin), methods=["POST"]),
            Route("/settings/totp/confirm", page(self.totp_confirm), methods=["POST"]),
            Route("/settings/totp/disable", page(self.totp_disable), methods=["POST"]),
            Route("/settings/app-passwords", page(self.app_password_create), methods=["POST"]),
            Route(
                "/settings/app-passwords/revoke", page(self.app_password_revoke), methods=["POST"]
            ),
            Route("/settings/sessions/revoke", page(self.session_revoke), methods=["POST"]),
        ]

    # -- the page -------------------------------------------------------------

    def notices(self, who: WebUser) -> dict[str, str]:
        tr = self.ui.tr
        return {
            "language": tr(who, "The language was saved."),
            "name": tr(who, "Your name was saved."),
            "password": tr(who, "Your password was changed. Your other sessions were ended."),
            "totp-on": tr(who, "Two-step log-in is on. From now on, log-in asks for a code."),
            "totp-off": tr(who, "Two-step log-in is off."),
            "app-password-revoked": tr(
                who, "The app password was revoked. Programs using it are logged out."
            ),
            "session-revoked": tr(who, "The session was ended."),
            "sessions-revoked": tr(who, "All your other sessions were ended."),
        }

    async def _page(
        self,
        request: Request,
        who: WebUser,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        enrolment: Enrolment | None = None,
        confirming: bool = False,
        new_app_password: tuple[str, str] | None = None,
        **values: Any,
    ) -> Response:
        svc = self.ui.services
        me = who.principal
        totp_on = await run(svc.totp.enabled, me.user_id)
        app_passwords = await run(svc.accounts.list_app_passwords, me.login)
        sessions = await run(svc.sessions.sessions_of, me)
        values.setdefault("app_name", "")
        done = request.query_params.get("done", "")
        qr = None
        if enrolment is not None:
            qr = qr_svg(enrolment.uri, self.ui.tr(who, "QR code for your authenticator app"))
        return self.ui.render(
            request,
            who,
            "settings_page.html",
            status=status,
            headers=headers,
            title=self.ui.tr(who, "Settings"),
            notice=self.notices(who).get(done),
            errors=errors or {},
            language=who.session.language or "",
            languages=LANGUAGE_CHOICES,
            min_length=MIN_PASSWORD_LENGTH,
            totp_on=totp_on,
            enrolment=enrolment,
            secret=grouped(enrolment.secret) if enrolment else "",
            qr=qr,
            confirming=confirming or enrolment is not None,
            app_passwords=app_passwords,
            new_app_password=new_app_password,
            sessions=sessions,
            current_session=who.session.id,
            **values,
        )

    async def show(self, request: Request, ui: Ui, who: WebUser) -> Response:
        return await self._page(request, who)

    def _done(self, what: str, anchor: str) -> Response:
        return self.ui.redirect(f"/settings?done={what}#{anchor}")

    # -- name -------------------------------------------------------------------

    async def name(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        me = who.principal
        await run(
            ui.services.accounts.set_display_name,
            me.login,
            fields.get("display_name", ""),
            actor=me.login,
        )
        return self.ui.redirect("/settings?done=name#profile")

    # -- language ---------------------------------------------------------------

    async def language(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        choice = fields.get("language", "")
        if choice and choice not in LANGUAGE_CHOICES:
            raise BadRequest(f"no language {choice!r}")
        me = who.principal
        await run(ui.services.accounts.set_language, me.login, choice or None, actor=me.login)
        # The next page in the new language, even where ?lang= asked for another.
        return self.ui.redirect("/settings?done=language#language")

    # -- password ---------------------------------------------------------------

    async def password(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        current, new = fields.get("current", ""), fields.get("new", "")
        tr = ui.tr
        error, status, headers = None, 400, {}
        if new != fields.get("repeat", ""):
            error = tr(who, "The two new passwords differ.")
        elif len(new) < MIN_PASSWORD_LENGTH:
            error = tr(
                who,
                "The new password is too short: at least %(count)s characters.",
                count=MIN_PASSWORD_LENGTH,
            )
        else:
            try:
                await run(
                    ui.services.sessions.change_password,
                    who.session,
                    current,
                    new,
                    client=client_of(request),
                )
            except TooManyFailedLogins as exc:
                error, status = (
                    tr(
                        who,
                        "Too many wrong attempts. Try again in %(seconds)s seconds.",
                        seconds=exc.resets_in,
                    ),
                    429,
                )
                headers = {"Retry-After": str(exc.resets_in)}
            except NotAuthenticated:
                error, status = tr(who, "The current password is wrong."), 401
            else:
                return self._done("password", "password")
        return await self._page(
            request, who, status=status, headers=headers, errors={"password": error}
        )

    # -- two-step log-in (TOTP) -------------------------------------------------

    async def totp_begin(self, request: Request, ui: Ui, who: WebUser) -> Response:
        await ui.form(request, who)
        enrolment = await run(ui.services.totp.begin, who.principal)
        return await self._page(request, who, enrolment=enrolment)

    async def totp_confirm(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        try:
            await run(
                ui.services.totp.confirm,
                who.principal,
                fields.get("code", ""),
                client=client_of(request),
            )
        except WrongCode:
            return await self._page(
                request,
                who,
                status=400,
                confirming=True,
                errors={
                    "totp": ui.tr(
                        who,
                        "The code is wrong. Enter the code your app shows now, or start the "
                        "set-up again.",
                    )
                },
            )
        except TooManyFailedLogins as exc:
            return await self._page(
                request,
                who,
                status=429,
                headers={"Retry-After": str(exc.resets_in)},
                confirming=True,
                errors={
                    "totp": ui.tr(
                        who,
                        "Too many wrong attempts. Try again in %(seconds)s seconds.",
                        seconds=exc.resets_in,
                    )
                },
            )
        return self._done("totp-on", "totp")

    async def totp_disable(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        try:
            await run(
                ui.services.totp.disable,
                who.principal,
                fields.get("code", ""),
                client=client_of(request),
            )
        except WrongCode:
            return await self._page(
                request,
                who,
                status=400,
                errors={"totp": ui.tr(who, "The code is wrong or was used already.")},
            )
        except TooManyFailedLogins as exc:
            return await self._page(
                request,
                who,
                status=429,
                headers={"Retry-After": str(exc.resets_in)},
                errors={
                    "totp": ui.tr(
                        who,
                        "Too many wrong attempts. Try again in %(seconds)s seconds.",
                        seconds=exc.resets_in,
                    )
                },
            )
        return self._done("totp-off", "totp")

    # -- app passwords ----------------------------------------------------------

    async def app_password_create(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        name = fields.get("name", "").strip()
        me = who.principal
        try:
            token = await run(
                ui.services.accounts.create_app_password, me.login, name, actor=me.login
            )
        except AlreadyExists:
            error = ui.tr(who, "You have an app password of that name already.")
            return await self._page(request, who, status=409, errors={"app": error}, app_name=name)
        except BadRequest:
            error = ui.tr(who, "Give the app password a name of 1 to 100 characters.")
            return await self._page(request, who, status=400, errors={"app": error}, app_name=name)
        return await self._page(request, who, new_app_password=(name, token))

    async def app_password_revoke(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        me = who.principal
        await run(
            ui.services.accounts.revoke_app_password,
            me.login,
            fields.get("name", ""),
            actor=me.login,
        )
        return self._done("app-password-revoked", "apps")

    # -- sessions ---------------------------------------------------------------

    async def session_revoke(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        sessions = ui.services.sessions
        client = client_of(request)
        if fields.get("all") == "others":
            for other in await run(sessions.sessions_of, who.principal):
                if other.id != who.session.id:
                    with contextlib.suppress(NotFound):  # it ended meanwhile
                        await run(sessions.revoke, who.principal, other.id, client=client)
            return self._done("sessions-revoked", "sessions")
        try:
            session_id = int(fields.get("session", ""))
        except ValueError:
            raise BadRequest("no session given") from None
        if session_id == who.session.id:
            raise BadRequest("to end this session, log out")
        await run(sessions.revoke, who.principal, session_id, client=client)
        return self._done("session-revoked", "sessions")
