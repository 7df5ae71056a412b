"""Login Flow v2 over HTTP, as the Nextcloud desktop and mobile apps drive it.

1. ``POST /index.php/login/v2`` (the client): ``{"poll": {"token", "endpoint"}, "login"}``.
2. The client opens ``login`` in a browser: ``/index.php/login/v2/flow/{login token}``
   (``?user=`` prefills the login name). The user signs in, then grants or
   denies access (``/index.php/login/v2/grant/{login token}``).
3. Meanwhile the client ``POST``s ``token=...`` to the poll endpoint every few
   seconds: 404 until the grant, then once ``{"server", "loginName",
   "appPassword"}``; 404 again after that.

The rules (who may sign in, tokens, sealing, audit) are in
:class:`thvc.accounts.loginflow.LoginFlowService`; this module parses and renders.
"""

from __future__ import annotations

import html
import json
import logging
import re
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from urllib.parse import parse_qsl, quote

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from thvc.accounts.loginflow import (
    FlowNotFound,
    InvalidFormToken,
    LoginFlowService,
)
from thvc.compat import pages
from thvc.compat.auth import client_address
from thvc.errors import BadRequest, NotAuthenticated, TooManyFailedLogins
from thvc.settings import Settings

log = logging.getLogger("thvc.compat")

P = ParamSpec("P")
T = TypeVar("T")

START_PATH = "/index.php/login/v2"
POLL_PATH = "/index.php/login/v2/poll"
FLOW_PATH = "/index.php/login/v2/flow/"
GRANT_PATH = "/index.php/login/v2/grant/"
FORM_LIMIT = 16 * 1024
NO_STORE = {"Cache-Control": "no-store"}


async def run(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a blocking core call in the thread pool."""
    return await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))


async def read_params(request: Request) -> dict[str, str]:
    """A small form body (urlencoded, or JSON as Nextcloud also takes), plus the query.

    Raises BadRequest for any other type, a body over 16 KiB or bad encoding.
    """
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in ("", "application/x-www-form-urlencoded", "application/json"):
        raise BadRequest(f"expected a urlencoded form, not {ctype}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise BadRequest("the form is too large")
    params = dict(request.query_params)
    try:
        text = body.decode("utf-8")
        if ctype == "application/json":
            doc = json.loads(text) if text.strip() else {}
            if not isinstance(doc, dict):
                raise BadRequest("expected a JSON object")
            params.update({k: v for k, v in doc.items() if isinstance(v, str)})
        else:
            for key, value in reversed(parse_qsl(text, keep_blank_values=True, max_num_fields=20)):
                params[key] = value
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the form is not valid UTF-8 form data") from None
    return params


def client_name(user_agent: str) -> str:
    """A readable name for the app password, from the client's User-Agent.

    ``Mozilla/5.0 (Linux) mirall/3.7.3 (Nextcloud, debian-...)`` is the
    desktop client, ``... Nextcloud-android/3.25.0`` and ``... Nextcloud-iOS/4.9.0``
    the mobile apps. Anything else keeps its User-Agent, as Nextcloud names it.
    """
    ua = " ".join(user_agent.split())
    if m := re.search(r"mirall/([\w.+-]+)(?: \(([^,)]+))?", ua):
        brand = (m.group(2) or "Desktop").strip()
        return f"{brand} Desktop {m.group(1)}"
    if m := re.search(r"Nextcloud-android/([\w.+-]+)", ua):
        return f"Nextcloud Android {m.group(1)}"
    if m := re.search(r"Nextcloud-iOS/([\w.+-]+)", ua):
        return f"Nextcloud iOS {m.group(1)}"
    return ua[:100] or "unknown client"


class LoginFlowEndpoints:
    """The HTTP side of Login Flow v2 over one :class:`LoginFlowService`."""

    def __init__(self, flows: LoginFlowService, *, settings: Settings) -> None:
        self.flows = flows
        self.base_url = settings.base_url

    # -- the client's side -------------------------------------------------

    async def start(self, request: Request) -> Response:
        name = client_name(request.headers.get("user-agent", ""))
        tokens = await run(self.flows.start, name, client=client_address(request))
        return JSONResponse(
            {
                "poll": {"token": tokens.poll, "endpoint": self.base_url + POLL_PATH},
                "login": self.base_url + FLOW_PATH + tokens.login,
            },
            headers=NO_STORE,
        )

    async def poll(self, request: Request) -> Response:
        try:
            token = (await read_params(request)).get("token", "")
        except BadRequest as exc:
            return JSONResponse({"message": exc.message}, 400, NO_STORE)
        if not token:
            return JSONResponse({"message": "token is missing"}, 400, NO_STORE)
        try:
            creds = await run(self.flows.poll, token, client=client_address(request))
        except FlowNotFound:  # unknown, expired, collected, or not granted yet
            # Nextcloud answers exactly this while the user has not granted.
            return JSONResponse([], 404, NO_STORE)
        return JSONResponse(
            {"server": self.base_url, "loginName": creds.login, "appPassword": creds.app_password},
            headers=NO_STORE,
        )

    # -- the browser's side ------------------------------------------------

    async def flow_page(self, request: Request) -> Response:
        """GET: the sign-in form. POST: check the credentials, then the grant form."""
        lang = pages.language(request)
        token = request.path_params["token"]
        action = f"{FLOW_PATH}{quote(token, safe='')}?lang={lang}"
        try:
            info = await run(self.flows.describe, token)
            csrf = self.flows.form_token(token)
            if request.method == "GET":
                user = request.query_params.get("user", "")[:320]
                return pages.login_form(
                    request, lang, action=action, client=info.client_name, csrf=csrf, user=user
                )
            form = await read_params(request)
            self.flows.check_form_token(token, form.get("csrf"))
            user = form.get("user", "").strip()[:320]
            try:
                principal, ticket = await run(
                    self.flows.sign_in,
                    token,
                    user,
                    form.get("password", ""),
                    client=client_address(request),
                )
            except TooManyFailedLogins as exc:
                return pages.login_form(
                    request,
                    lang,
                    action=action,
                    client=info.client_name,
                    csrf=csrf,
                    user=user,
                    error=pages.t(lang, "throttled", seconds=str(exc.resets_in)),
                    status=429,
                    headers={"Retry-After": str(exc.resets_in)},
                )
            except NotAuthenticated:
                # The same words for a wrong name, a wrong password and a
                # disabled account: the page must not tell which logins exist.
                return pages.login_form(
                    request,
                    lang,
                    action=action,
                    client=info.client_name,
                    csrf=csrf,
                    user=user,
                    error=pages.t(lang, "wrong"),
                    status=403,
                )
            return pages.grant_form(
                request,
                lang,
                action=f"{GRANT_PATH}{quote(token, safe='')}?lang={lang}",
                client=info.client_name,
                login=principal.login,
                ticket=ticket,
            )
        except Exception as exc:
            return self._error_page(request, lang, exc)

    async def grant(self, request: Request) -> Response:
        lang = pages.language(request)
        token = request.path_params["token"]
        try:
            info = await run(self.flows.describe, token)
            form = await read_params(request)
            principal = await run(self.flows.redeem, token, form.get("ticket"))
            decision = form.get("decision")
            client = client_address(request)
            if decision == "deny":
                await run(self.flows.deny, token, principal, client=client)
                return pages.message(request, lang, "denied_title", "denied_text")
            if decision != "grant":
                raise BadRequest("decision must be grant or deny")
            await run(self.flows.grant, token, principal, client=client)
            return pages.message(request, lang, "done_title", "done_text", client=info.client_name)
        except Exception as exc:
            return self._error_page(request, lang, exc)

    def _error_page(self, request: Request, lang: str, exc: Exception) -> Response:
        if isinstance(exc, FlowNotFound):
            return pages.message(request, lang, "missing_title", "missing_text", status=404)
        if isinstance(exc, InvalidFormToken | NotAuthenticated):
            return pages.message(request, lang, "form_title", "form_text", status=403)
        if isinstance(exc, BadRequest):
            return pages.page(
                request, lang, "bad_title", f"<p>{html.escape(exc.message)}</p>", status=400
            )
        log.error("unexpected error in the login flow", exc_info=exc)
        return Response("internal server error", 500, media_type="text/plain")

    async def stylesheet(self, request: Request) -> Response:
        return pages.stylesheet()
