"""What every page of the logged-in web interface shares: who is asking, the layout, CSRF.

A page handler is ``async def page(request: Request, ui: Ui, who: WebUser) -> Response``
wrapped by ``ui.page(...)``: the wrapper resumes the session (or sends the browser to
the log-in page) and turns the core's errors into a page in the user's language.
A state-changing request must have its CSRF token checked before anything changes:
handlers read their form with ``ui.form`` (which checks it) or call ``check_csrf``;
a token in the ``X-CSRF-Token`` header is checked by the wrapper before the handler
runs, and a POST whose handler checked nothing is answered with a 500 and logged, so
that a forgotten check fails every test that reaches it. Pages never decide who may do
what: they call the core with ``who.principal``.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from thvc.accounts.services import Principal
from thvc.accounts.sessions import SessionInfo
from thvc.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotAuthenticated,
    NotFound,
    QuotaExceeded,
    ThvcError,
    TooManyFailedLogins,
)
from thvc.http.websession import CSRF_FIELD, CSRF_HEADER, SAFE_METHODS, session_token
from thvc.services import Services
from thvc.settings import Settings
from thvc.web import assets, i18n
from thvc.web.http import PayloadTooLarge, run, small_form

log = logging.getLogger("thvc.web")

LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}

# The whole interface runs on its own scripts, styles and images: nothing inline,
# nothing from elsewhere (the bundle's icons are files; Uppy makes no thumbnails).
CSP = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class WebUser:
    """The logged-in user of one request."""

    session: SessionInfo
    lang: str

    @property
    def principal(self) -> Principal:
        return self.session.principal

    @property
    def csrf(self) -> str:
        return self.session.csrf


Handler = Callable[[Request, "Ui", WebUser], Awaitable[Response]]


def client_of(request: Request) -> str | None:
    return request.client.host if request.client else None


class Ui:
    def __init__(self, settings: Settings, services: Services) -> None:
        self.settings = settings
        self.services = services
        self.secure = settings.base_url.startswith("https://")

    # -- who is asking -----------------------------------------------------------

    async def current(self, request: Request) -> WebUser | None:
        token = session_token(request)
        if token is None:
            return None
        try:
            info = await run(self.services.sessions.resume, token)
        except NotAuthenticated:
            return None
        asked = request.query_params.get("lang", "")
        lang = asked if asked in i18n.LANGUAGES else info.language or i18n.language(request)
        return WebUser(info, lang)

    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """A logged-in page: session, CSRF, errors as pages."""

        async def endpoint(request: Request) -> Response:
            who = await self.current(request)
            if who is None:
                target = request.url.path
                if request.url.query:
                    target += "?" + request.url.query
                if request.method not in SAFE_METHODS or request.headers.get("hx-request"):
                    # A form sent after the session ended: log in again, then start over.
                    target = "/files"
                response: Response = RedirectResponse("/login?" + urlencode({"next": target}), 303)
                if request.headers.get("hx-request"):
                    response.headers["HX-Redirect"] = response.headers["location"]
                return response
            try:
                unsafe = request.method not in SAFE_METHODS
                if unsafe and request.headers.get(CSRF_HEADER):
                    self.check_csrf(request, who)
                response = await handler(request, self, who)
                if unsafe and not getattr(request.state, "csrf_checked", False):
                    log.error(
                        "%s %s changed state without a CSRF check", request.method, request.url.path
                    )
                    return Response("CSRF check missing", 500, media_type="text/plain")
                return response
            except TooManyFailedLogins as exc:
                return self.message(
                    request,
                    who,
                    self.tr(who, "Please wait"),
                    self.tr(
                        who,
                        "Too many wrong attempts. Try again in %(seconds)s seconds.",
                        seconds=exc.resets_in,
                    ),
                    status=429,
                    headers={"Retry-After": str(exc.resets_in)},
                )
            except ThvcError as exc:
                status, title = self.explain(who, exc)
                return self.message(request, who, title, str(exc), status=status)

        return endpoint

    @staticmethod
    def tr(who: WebUser, message: str, **values: object) -> str:
        return i18n.gettext(who.lang, message, **values)

    def explain(self, who: WebUser, exc: ThvcError) -> tuple[int, str]:
        if isinstance(exc, NotFound):
            return 404, self.tr(who, "Not found")
        if isinstance(exc, Forbidden):
            return 403, self.tr(who, "Not allowed")
        if isinstance(exc, QuotaExceeded):
            return 507, self.tr(who, "Not enough storage space")
        if isinstance(exc, Conflict):
            return 409, self.tr(who, "That did not work")
        if isinstance(exc, PayloadTooLarge):
            return 413, self.tr(who, "Too large")
        if isinstance(exc, BadRequest):
            return 400, self.tr(who, "That did not work")
        return 400, self.tr(who, "That did not work")

    # -- forms -------------------------------------------------------------------

    async def form(self, request: Request, who: WebUser, limit: int = 64 * 1024) -> dict[str, str]:
        """A small urlencoded form, its CSRF token checked (Forbidden when wrong)."""
        fields = await small_form(request, limit)
        self.check_csrf(request, who, fields.get(CSRF_FIELD, ""))
        return fields

    @staticmethod
    def check_csrf(request: Request, who: WebUser, value: str = "") -> None:
        """Forms send the token as a field, htmx and scripts as the ``X-CSRF-Token`` header."""
        sent = value or request.headers.get(CSRF_HEADER, "")
        if not sent or not hmac.compare_digest(sent, who.csrf):
            raise CsrfFailed("the form has expired; please reload the page and try again")
        request.state.csrf_checked = True

    # -- output ------------------------------------------------------------------

    def render(
        self,
        request: Request,
        who: WebUser | None,
        template: str,
        *,
        lang: str | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        **values: Any,
    ) -> HTMLResponse:
        """``template`` in the layout, in the user's language, with the security headers.

        A request from htmx (``HX-Request``) for a template that has a ``fragment``
        block gets only that block: the partial update, with the same data.
        """
        lang = lang or (who.lang if who else i18n.language(request))
        other = "en" if lang == "de" else "de"
        query = dict(request.query_params)
        query["lang"] = other
        env = i18n.environment(lang)
        tpl = env.get_template(template)
        context = {
            "who": who,
            "principal": who.principal if who else None,
            "csrf": who.csrf if who else "",
            "css_url": assets.asset_url("thvc.css"),
            "js_url": assets.asset_url("thvc.js"),
            "switch_url": f"{quote(request.url.path)}?{urlencode(query)}",
            "other_lang": other,
            "other_name": LANGUAGE_NAMES[other],
            "current_path": request.url.path,
            # The templates are strict about undefined names; a page may set these.
            "narrow": False,
            **values,
        }
        if request.headers.get("hx-request") and "fragment" in tpl.blocks:
            ctx = tpl.new_context(context)
            html = "".join(tpl.blocks["fragment"](ctx))
        else:
            html = tpl.render(context)
        return HTMLResponse(html, status, headers={**SECURITY_HEADERS, **(headers or {})})

    def message(
        self,
        request: Request,
        who: WebUser | None,
        title: str,
        text: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        back: str | None = None,
    ) -> HTMLResponse:
        return self.render(
            request,
            who,
            "ui_message.html",
            status=status,
            headers=headers,
            title=title,
            text=text,
            back=back,
        )

    @staticmethod
    def redirect(url: str, *, htmx: bool = False) -> Response:
        """303 to ``url`` after a form; for htmx, HX-Redirect (it follows no 303 page)."""
        response: Response = RedirectResponse(url, 303, headers=SECURITY_HEADERS)
        if htmx:
            response = Response(status_code=204, headers={**SECURITY_HEADERS, "HX-Redirect": url})
        return response


class CsrfFailed(Forbidden):
    """A state-changing request without this session's CSRF token."""
