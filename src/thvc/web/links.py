"""``/s/{token}``: what a visitor of a public link sees, downloads and uploads.

- ``GET /s/{token}``: a file (name, size, download), a folder (entries, links into
  subfolders with ``/s/{token}/?path=/sub``, per-file downloads, everything or a
  selection as ZIP), or for a file drop only the upload form and what this
  visitor uploaded during this visit. A password link first asks for its
  password (``POST``, with a CSRF token bound to the visitor's session cookie).
- ``POST /s/{token}`` with ``multipart/form-data``: files into a drop (``drops``).
- ``GET /s/{token}/download[?path=/sub][&files=a&files=b]``: the file, or a
  folder or a selection as a streamed ZIP (``downloads``). A password link takes
  the session cookie or HTTP Basic with the token as user name and the link's
  password (``curl -u TOKEN:PASSWORD``). Each download counts against the
  link's limit. A drop serves nothing.

Whether a link is good, what it allows, throttling and auditing are the
sharing core's (``SharingService.open_link``); an expired, revoked, used-up or
unknown link is the same 404 page everywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from thvc.errors import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidName,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    ThvcError,
    TooManyFailedLogins,
)
from thvc.files import paths
from thvc.files.errors import IsCollection
from thvc.files.services import FileService, Location
from thvc.settings import Settings
from thvc.sharing.models import LinkKind
from thvc.sharing.services import LinkAccess, LinkGone, SharingService
from thvc.web import assets, downloads, i18n
from thvc.web.drops import BadToken, DropUpload
from thvc.web.http import PayloadTooLarge, basic_credentials, run, small_form
from thvc.web.i18n import gettext as tr
from thvc.web.i18n import ngettext as ntr
from thvc.web.session import Session, Sessions

log = logging.getLogger("thvc.web")

PREFIX = "/s"
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # The token is in the URL: never send it to anyone else.
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
# Downloads are never rendered as a page of ours, whatever their type.
DOWNLOAD_HEADERS = {"Content-Security-Policy": "default-src 'none'; sandbox"}
CHALLENGE = {"WWW-Authenticate": 'Basic realm="ThVC link", charset="UTF-8"'}


class LinkPages:
    """The ASGI app for ``/s``."""

    def __init__(
        self,
        *,
        settings: Settings,
        files: FileService,
        sharing: SharingService,
        secret: bytes,
    ) -> None:
        self.settings = settings
        self.files = files
        self.sharing = sharing
        self.sessions = Sessions(secret, secure=settings.base_url.startswith("https://"))
        i18n.load()
        self.router = Router(
            routes=[
                Route(PREFIX + "/{token}", self.page, methods=["GET", "POST"]),
                Route(PREFIX + "/{token}/", self.page, methods=["GET", "POST"]),
                Route(PREFIX + "/{token}/download", self.download, methods=["GET"]),
            ],
            default=self.not_found,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.router(scope, receive, send)

    # -- rendering: the module's render() and message(), shared with the other pages --

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Anything else under ``/s``: the same page as a link that is no more."""
        request = Request(scope, receive)
        await self.error(request, i18n.language(request), LinkGone())(scope, receive, send)

    def error(
        self, request: Request, lang: str, exc: BaseException, *, token: str = ""
    ) -> Response:
        """Core errors as pages, decided once, on the error families (see :func:`explain`)."""
        problem = explain(lang, exc)
        return message(
            request,
            lang,
            problem.title,
            problem.text,
            status=problem.status,
            headers=problem.headers,
            back_url=self.url(token, lang) if token and problem.back else "",
        )

    # -- addresses ------------------------------------------------------------

    @staticmethod
    def url(token: str, lang: str, *, path: str = "", trailing: bool = False, **extra: str) -> str:
        query = {"path": path} if path else {}
        query.update(extra)
        query["lang"] = lang
        base = f"{PREFIX}/{quote(token, safe='')}" + ("/" if path or trailing else "")
        return f"{base}?{urlencode(query)}"

    @staticmethod
    def download_url(token: str, *, path: str = "") -> str:
        base = f"{PREFIX}/{quote(token, safe='')}/download"
        return f"{base}?{urlencode({'path': path})}" if path else base

    @staticmethod
    def cookie_path(token: str) -> str:
        return f"{PREFIX}/{quote(token, safe='')}"

    def keep(self, response: Response, session: Session, token: str) -> Response:
        self.sessions.store(response, session, token, self.cookie_path(token))
        return response

    # -- the link -------------------------------------------------------------

    async def open(
        self, request: Request, token: str, password: str | None, *, ticket: str | None = None
    ) -> LinkAccess:
        client = request.client.host if request.client else None
        return await run(self.sharing.open_link, token, password, client=client, ticket=ticket)

    @staticmethod
    def segments(request: Request) -> list[str]:
        """``?path=/a/b`` as checked names (InvalidName, 400, for ``..`` and the like)."""
        raw = request.query_params.get("path", "")
        segs = [paths.check_name(p) for p in raw.split("/") if p]
        if len(segs) > paths.MAX_DEPTH:
            raise InvalidName("the path is too deep")
        return segs

    @staticmethod
    def below(access: LinkAccess, segments: list[str]) -> Location:
        if segments and not access.is_dir:
            raise NotFound()
        loc = downloads.named(access.loc, access.name) if not access.is_dir else access.loc
        for name in segments:
            loc = loc.child(name)
        return loc

    # -- GET and POST /s/{token} ----------------------------------------------

    async def page(self, request: Request) -> Response:
        token: str = request.path_params["token"]
        lang = i18n.language(request)
        session = self.sessions.load(request, token)
        try:
            if request.method == "POST":
                return await self.post(request, token, lang, session)
            return await self.show(request, token, lang, session)
        except Exception as exc:
            return self.error(request, lang, exc, token=token)

    async def show(
        self,
        request: Request,
        token: str,
        lang: str,
        session: Session,
        *,
        error: str = "",
        notice: str = "",
        status: int = 200,
    ) -> Response:
        try:
            access = await self.open(request, token, None, ticket=session.password)
        except NotAuthenticated:
            # No password yet, or one that has changed since: ask (again).
            return self.password_form(request, token, lang, session.with_password(None))
        if access.kind is LinkKind.DROP:
            if self.segments(request):
                raise LinkGone()  # nothing in a drop can be named, as if there were no link
            received = request.query_params.get("received", "")
            if received.isdigit() and not notice:
                notice = ntr(
                    lang,
                    "Thank you: %(num)s file was received.",
                    "Thank you: %(num)s files were received.",
                    int(received),
                )
            return self.drop_page(
                request, token, lang, session, access, error=error, notice=notice, status=status
            )
        segs = self.segments(request)
        loc = self.below(access, segs)
        values: dict[str, Any] = {"sharer": access.sharer_display}
        if not access.is_dir:
            entry = await run(self.files.stat, loc)
            return render(
                request,
                lang,
                "file.html",
                title=access.name,
                name=access.name,
                size=entry.size,
                mtime=entry.mtime,
                mtime_iso=entry.mtime.isoformat(),
                download_url=self.download_url(token),
                back_url="",
                **values,
            )
        me, kids = await run(self.files.listing, loc)
        path = "/" + "/".join(segs) if segs else ""
        if not me.is_dir:
            parent = "/" + "/".join(segs[:-1]) if len(segs) > 1 else ""
            return render(
                request,
                lang,
                "file.html",
                title=segs[-1],
                name=segs[-1],
                size=me.size,
                mtime=me.mtime,
                mtime_iso=me.mtime.isoformat(),
                download_url=self.download_url(token, path=path),
                back_url=self.url(token, lang, path=parent, trailing=True),
                **values,
            )
        crumbs = [{"name": access.name, "url": self.url(token, lang)}]
        for i, name in enumerate(segs):
            crumbs.append(
                {"name": name, "url": self.url(token, lang, path="/" + "/".join(segs[: i + 1]))}
            )
        entries = [
            {
                "name": e.name,
                "is_dir": e.is_dir,
                "size": e.size,
                "mtime": e.mtime,
                "mtime_iso": e.mtime.isoformat(),
                "url": self.url(token, lang, path=f"{path}/{e.name}"),
                "download_url": self.download_url(token, path=f"{path}/{e.name}"),
            }
            for e in sorted(kids, key=lambda e: (not e.is_dir, e.name.casefold()))
        ]
        return render(
            request,
            lang,
            "folder.html",
            title=segs[-1] if segs else access.name,
            name=segs[-1] if segs else access.name,
            crumbs=crumbs,
            entries=entries,
            path=path,
            zip_url=self.download_url(token, path=path),
            download_action=self.download_url(token),
            **values,
        )

    def password_form(
        self,
        request: Request,
        token: str,
        lang: str,
        session: Session,
        *,
        error: str = "",
        status: int = 401,
    ) -> Response:
        response = render(
            request,
            lang,
            "password.html",
            status=status,
            title=tr(lang, "Password required"),
            error=error,
            csrf=self.sessions.csrf(session, token),
            action=self.url(token, lang, path=request.query_params.get("path", "")),
        )
        return self.keep(response, session, token)

    def drop_page(
        self,
        request: Request,
        token: str,
        lang: str,
        session: Session,
        access: LinkAccess,
        *,
        error: str = "",
        notice: str = "",
        status: int = 200,
    ) -> Response:
        response = render(
            request,
            lang,
            "drop.html",
            status=status,
            title=tr(lang, "Upload files"),
            name=access.name,
            sharer=access.sharer_display,
            csrf=self.sessions.csrf(session, token),
            action=self.url(token, lang),
            dropped=session.dropped,
            error=error,
            notice=notice,
        )
        return self.keep(response, session, token)

    async def post(self, request: Request, token: str, lang: str, session: Session) -> Response:
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind == "multipart/form-data":
            return await self.upload(request, token, lang, session)
        form = await small_form(request)
        if not self.sessions.check_csrf(session, token, form.get("csrf", "")):
            return self.password_form(
                request,
                token,
                lang,
                session,
                error=tr(lang, "The form has expired. Please enter the password again."),
                status=403,
            )
        password = form.get("password", "")
        try:
            access = await self.open(request, token, password or None)
        except NotAuthenticated:
            return self.password_form(
                request, token, lang, session, error=tr(lang, "The password is wrong.")
            )
        except TooManyFailedLogins as exc:
            problem = explain(lang, exc)
            response = self.password_form(
                request, token, lang, session, error=problem.text, status=429
            )
            response.headers.update(problem.headers)
            return response
        target = self.url(token, lang, path=request.query_params.get("path", ""))
        # The session keeps the core's ticket for this link and password, not the password:
        # no argon2 per page, and a changed password ends it.
        return self.keep(RedirectResponse(target, 303), session.with_password(access.ticket), token)

    async def upload(self, request: Request, token: str, lang: str, session: Session) -> Response:
        try:
            access = await self.open(request, token, None, ticket=session.password)
        except NotAuthenticated:
            return self.password_form(request, token, lang, session.with_password(None))
        if access.kind is not LinkKind.DROP:
            raise Forbidden("this link takes no uploads")
        drop = DropUpload(
            request,
            files=self.files,
            sharing=self.sharing,
            access=access,
            check_csrf=lambda value: self.sessions.check_csrf(session, token, value),
        )
        try:
            declared = request.headers.get("content-length", "")
            if declared.isdigit():
                # Refused before a byte is read when it cannot fit; the form's own bytes
                # (boundaries, part headers) are a few hundred per file.
                _, available = await run(self.files.quota, access.loc)
                if available is not None and int(declared) > available + 64 * 1024:
                    raise QuotaExceeded(int(declared), available, "storage")
            result = await drop.run()
        except Exception as exc:
            if isinstance(exc, NotFound) or not isinstance(exc, ThvcError | ClientDisconnect):
                raise  # the link went away, or we failed: not the form's business
            problem = explain(lang, exc)
            stored = drop.result.stored
            notice = ""
            if stored:
                notice = tr(
                    lang,
                    "Received before the error: %(names)s.",
                    names=", ".join(d.name for d in stored),
                )
            response = self.drop_page(
                request,
                token,
                lang,
                session.with_dropped(stored),
                access,
                error=problem.text,
                notice=notice,
                status=problem.status,
            )
            response.headers.update(problem.headers)
            return response
        session = session.with_dropped(result.stored)
        target = self.url(token, lang, received=str(len(result.stored)))
        return self.keep(RedirectResponse(target, 303), session, token)

    # -- GET /s/{token}/download ----------------------------------------------

    async def download(self, request: Request) -> Response:
        token: str = request.path_params["token"]
        lang = i18n.language(request)
        try:
            response = await self._download(request, token)
        except Exception as exc:
            return self.error(request, lang, exc, token=token)
        response.headers.update(DOWNLOAD_HEADERS)
        return response

    async def _download(self, request: Request, token: str) -> Response:
        credentials = basic_credentials(request)
        if credentials is not None:
            user, password = credentials
            if user != token:
                raise NotAuthenticated("the user name is the link's token")
            access = await self.open(request, token, password or None)
        else:
            session = self.sessions.load(request, token)
            access = await self.open(request, token, None, ticket=session.password)
        if access.kind is LinkKind.DROP:
            raise LinkGone()  # a drop serves nothing, exactly as if there were no link
        client = request.client.host if request.client else None

        async def count() -> None:
            await run(self.sharing.count_download, access, client=client)

        segs = self.segments(request)
        loc = self.below(access, segs)
        picked = request.query_params.getlist("files")
        if picked:
            if not access.is_dir:
                raise NotFound()
            names = [paths.check_name(n) for n in picked]
            members = await run(downloads.plan, self.files, loc, names, "")
            label = segs[-1] if segs else access.name
            return await downloads.zip_response(request, self.files, members, label, count)
        try:
            handle = await run(self.files.open_read, loc)
        except IsCollection:
            label = segs[-1] if segs else access.name
            members = await run(downloads.plan, self.files, loc, None, label)
            return await downloads.zip_response(request, self.files, members, label, count)
        return await downloads.file_response(request, self.files, handle, count)


@dataclass(frozen=True)
class Problem:
    status: int
    title: str
    text: str
    headers: dict[str, str] = field(default_factory=dict)
    # Whether a link back to the share's page helps.
    back: bool = True


def render(
    request: Request,
    lang: str,
    template: str,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """A page of ours: the layout, the language switch, the security headers."""
    other = "en" if lang == "de" else "de"
    query = dict(request.query_params)
    query["lang"] = other
    html = (
        i18n.environment(lang)
        .get_template(template)
        .render(
            css_url=assets.CSS_URL,
            switch_url=f"{quote(request.url.path)}?{urlencode(query)}",
            other_lang=other,
            other_name=LANGUAGE_NAMES[other],
            narrow=template in ("password.html", "message.html", "invite.html"),
            **values,
        )
    )
    return HTMLResponse(html, status, headers={**SECURITY_HEADERS, **(headers or {})})


def message(
    request: Request,
    lang: str,
    title: str,
    text: str,
    *,
    status: int,
    headers: Mapping[str, str] | None = None,
    back_url: str = "",
) -> HTMLResponse:
    return render(
        request,
        lang,
        "message.html",
        status=status,
        headers=headers,
        title=title,
        text=text,
        alert=status >= 400,
        back_url=back_url,
    )


def explain(lang: str, exc: BaseException) -> Problem:
    """What a visitor is told about an error, in ``lang``: one place for every page."""
    if isinstance(exc, LinkGone):
        return Problem(
            404,
            tr(lang, "Link not available"),
            tr(lang, "This link does not exist or is no longer valid. Ask whoever sent it."),
            back=False,
        )
    if isinstance(exc, TooManyFailedLogins):
        return Problem(
            429,
            tr(lang, "Too many attempts"),
            tr(
                lang,
                "Too many wrong passwords. Please wait %(seconds)s seconds and try again.",
                seconds=exc.resets_in,
            ),
            {"Retry-After": str(exc.resets_in)},
            back=False,
        )
    if isinstance(exc, NotAuthenticated):
        return Problem(
            401,
            tr(lang, "Password required"),
            tr(
                lang,
                "This download needs the link's password: open the link's page and enter "
                "it, or send the token as user name and the password with HTTP Basic "
                "authentication.",
            ),
            dict(CHALLENGE),
        )
    if isinstance(exc, BadToken):
        return Problem(
            403,
            tr(lang, "Form expired"),
            tr(lang, "The form has expired. Please load the page again."),
        )
    if isinstance(exc, InvalidName):
        return Problem(
            400,
            tr(lang, "Name not allowed"),
            tr(
                lang,
                "A name must not be empty, “.” or “..”, contain a slash, a backslash or "
                "control characters, or be longer than 255 bytes.",
            ),
        )
    if isinstance(exc, PayloadTooLarge):
        return Problem(413, tr(lang, "Bad request"), tr(lang, "The request is too large."))
    if isinstance(exc, QuotaExceeded):
        return Problem(
            413,
            tr(lang, "Not enough space"),
            tr(lang, "There is not enough space left for this upload."),
        )
    if isinstance(exc, BadRequest | ClientDisconnect):
        return Problem(
            400,
            tr(lang, "Bad request"),
            tr(lang, "The request could not be understood."),
        )
    if isinstance(exc, NotFound):
        return Problem(
            404,
            tr(lang, "Not found"),
            tr(lang, "There is no such file or folder in this share."),
        )
    if isinstance(exc, Forbidden):
        return Problem(403, tr(lang, "Not allowed"), tr(lang, "This link does not allow that."))
    if isinstance(exc, Conflict | PreconditionFailed):
        return Problem(
            409,
            tr(lang, "Conflict"),
            tr(lang, "Something changed at the same moment. Please try again."),
        )
    if isinstance(exc, ThvcError):
        log.warning("unmapped core error on a link page: %r", exc)
    else:
        log.error("unexpected error on a link page", exc_info=exc)
    return Problem(
        500,
        tr(lang, "Something went wrong"),
        tr(lang, "The server could not answer this request. Please try again later."),
        back=False,
    )


__all__ = ["LinkPages", "explain"]
