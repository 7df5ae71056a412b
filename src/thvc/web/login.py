"""Log-in (password, then the TOTP code where the user has one), log-out, the start page.

The log-in form has a CSRF token too, bound to a short-lived cookie of its own:
otherwise another site could log a browser into the attacker's account. A
successful log-in always gets a new session token (set here, made by the core).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from thvc.accounts.sessions import SECOND_FACTOR_WINDOW, SessionExpired
from thvc.errors import BadRequest, Forbidden, NotAuthenticated, TooManyFailedLogins
from thvc.http.websession import (
    CSRF_FIELD,
    clear_session_cookie,
    session_token,
    set_session_cookie,
)
from thvc.web import i18n
from thvc.web.http import run, small_form
from thvc.web.i18n import gettext as tr
from thvc.web.ui import SECURITY_HEADERS, Ui, WebUser, client_of

PRE_COOKIE = "thvc_pre"
PRE_MAX_AGE = 3600


def _safe_next(target: str) -> str:
    """Only a path of ours: never an open redirect to another site. (Browsers drop tabs
    and line breaks from URLs, so ``/\t/evil`` would be ``//evil``: no control characters.)"""
    if (
        not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    ):
        return "/files"
    return target


class LoginPages:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui
        self._key = hmac.new(ui.services.web_secret, b"thvc login form v1", "sha256").digest()

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/login", self.login, methods=["GET", "POST"]),
            Route("/login/code", self.code, methods=["GET", "POST"]),
            Route("/logout", self.logout, methods=["POST"]),
        ]

    # -- helpers ----------------------------------------------------------------

    def _token(self, pre: str) -> str:
        return hmac.new(self._key, pre.encode(), hashlib.sha256).hexdigest()

    def _pre(self, request: Request) -> tuple[str, bool]:
        pre = request.cookies.get(PRE_COOKIE, "")
        if 20 <= len(pre) <= 64:
            return pre, False
        return secrets.token_urlsafe(24), True

    def _form_ok(self, request: Request, fields: dict[str, str]) -> bool:
        pre = request.cookies.get(PRE_COOKIE, "")
        return bool(pre) and hmac.compare_digest(fields.get(CSRF_FIELD, ""), self._token(pre))

    def _page(
        self,
        request: Request,
        template: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        target: str | None = None,
        **values: Any,
    ) -> Response:
        """A log-in form; ``target`` is where to go after it (else ``?next=``)."""
        pre, new = self._pre(request)
        # The templates are strict about undefined names: every form has these.
        values = {"error": None, "login": "", **values}
        if target is None:
            target = request.query_params.get("next", "/files")
        response = self.ui.render(
            request,
            None,
            template,
            status=status,
            headers=headers,
            form_token=self._token(pre),
            next=_safe_next(target),
            **values,
        )
        if new:
            response.set_cookie(
                PRE_COOKIE,
                pre,
                max_age=PRE_MAX_AGE,
                path="/login",
                secure=self.ui.secure,
                httponly=True,
                samesite="strict",
            )
        return response

    def _start(self, target: str, token: str) -> Response:
        response = RedirectResponse(_safe_next(target), 303, headers=SECURITY_HEADERS)
        set_session_cookie(
            response,
            token,
            secure=self.ui.secure,
            max_age=self.ui.settings.session_max_hours * 3600,
        )
        return response

    # -- pages ------------------------------------------------------------------

    async def home(self, request: Request) -> Response:
        who = await self.ui.current(request)
        return RedirectResponse("/files" if who else "/login", 303, headers=SECURITY_HEADERS)

    async def login(self, request: Request) -> Response:
        lang = i18n.language(request)
        if request.method == "GET":
            if await self.ui.current(request) is not None:
                return RedirectResponse(
                    _safe_next(request.query_params.get("next", "/files")),
                    303,
                    headers=SECURITY_HEADERS,
                )
            return self._page(request, "ui_login.html", title=tr(lang, "Log in"))
        try:
            fields = await small_form(request)
        except BadRequest as exc:
            return self._page(
                request,
                "ui_login.html",
                status=400,
                error=str(exc),
                title=tr(lang, "Log in"),
            )
        target = fields.get("next", "/files")
        values: dict[str, Any] = {
            "title": tr(lang, "Log in"),
            "login": fields.get("login", ""),
            "target": target,
        }
        if not self._form_ok(request, fields):
            return self._page(
                request,
                "ui_login.html",
                status=403,
                error=tr(lang, "The form had expired. Please try again."),
                **values,
            )
        try:
            started = await run(
                self.ui.services.sessions.login,
                fields.get("login", ""),
                fields.get("password", ""),
                client=client_of(request),
                user_agent=request.headers.get("user-agent", ""),
            )
        except TooManyFailedLogins as exc:
            return self._page(
                request,
                "ui_login.html",
                status=429,
                headers={"Retry-After": str(exc.resets_in)},
                error=tr(
                    lang,
                    "Too many wrong attempts. To protect the account, log-in is paused: "
                    "try again in %(seconds)s seconds.",
                    seconds=exc.resets_in,
                ),
                **values,
            )
        except NotAuthenticated:
            return self._page(
                request,
                "ui_login.html",
                status=401,
                error=tr(
                    lang,
                    "Login name or password is wrong, or the account is not active. "
                    "After several wrong attempts, log-in is paused for a while.",
                ),
                **values,
            )
        if started.second_factor_due:
            response = RedirectResponse(
                "/login/code?" + urlencode({"next": _safe_next(target)}),
                303,
                headers=SECURITY_HEADERS,
            )
            set_session_cookie(
                response,
                started.token,
                secure=self.ui.secure,
                max_age=int(SECOND_FACTOR_WINDOW.total_seconds()),
            )
            return response
        return self._start(target, started.token)

    async def code(self, request: Request) -> Response:
        lang = i18n.language(request)
        title = tr(lang, "Two-step log-in")
        token = session_token(request)
        if token is None:
            return RedirectResponse("/login", 303, headers=SECURITY_HEADERS)
        if request.method == "GET":
            return self._page(request, "ui_code.html", title=title)
        try:
            fields = await small_form(request)
        except BadRequest as exc:
            return self._page(request, "ui_code.html", status=400, error=str(exc), title=title)
        target = fields.get("next", "/files")
        if not self._form_ok(request, fields):
            return self._page(
                request,
                "ui_code.html",
                status=403,
                error=tr(lang, "The form had expired. Please try again."),
                title=title,
                target=target,
            )
        try:
            new_token = await run(
                self.ui.services.sessions.second_factor,
                token,
                fields.get("code", ""),
                client=client_of(request),
            )
        except SessionExpired:
            # Too long between password and code (or logged out meanwhile): start over.
            response = self._page(
                request,
                "ui_login.html",
                status=401,
                error=tr(lang, "The log-in took too long. Please log in again."),
                title=tr(lang, "Log in"),
                login="",
                target=target,
            )
            clear_session_cookie(response, secure=self.ui.secure)
            return response
        except TooManyFailedLogins as exc:
            return self._page(
                request,
                "ui_code.html",
                status=429,
                headers={"Retry-After": str(exc.resets_in)},
                error=tr(
                    lang,
                    "Too many wrong attempts. To protect the account, log-in is paused: "
                    "try again in %(seconds)s seconds.",
                    seconds=exc.resets_in,
                ),
                title=title,
                target=target,
            )
        except NotAuthenticated:
            return self._page(
                request,
                "ui_code.html",
                status=401,
                error=tr(lang, "The code is wrong or was used already. Enter the current code."),
                title=title,
                target=target,
            )
        return self._start(target, new_token)

    async def logout(self, request: Request) -> Response:
        who: WebUser | None = await self.ui.current(request)
        token = session_token(request)
        if who is not None and token is not None:
            try:
                fields = await small_form(request)
                self.ui.check_csrf(request, who, fields.get(CSRF_FIELD, ""))
            except (BadRequest, Forbidden):
                # Not from our page: nobody is logged out by another site.
                return RedirectResponse("/files", 303, headers=SECURITY_HEADERS)
            await run(self.ui.services.sessions.logout, token, client=client_of(request))
        response = RedirectResponse(
            "/login?" + urlencode({"lang": who.lang if who else i18n.language(request)}),
            303,
            headers=SECURITY_HEADERS,
        )
        clear_session_cookie(response, secure=self.ui.secure)
        return response
