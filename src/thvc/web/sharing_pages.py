"""Sharing: ``/share?path=`` (the dialog of one item), ``/shared/with-me``, ``/shared/by-me``.

- ``GET /share?path=/a/b[&q=term]``: who has the item and how (change, revoke), the
  people search (only whom the tenants' policies allow: ``find_sharees``), a form to
  share with one of them, and the item's public links (full address, copy, delete)
  with a form for a new one;
- ``POST /share/add``, ``/share/update``, ``/share/revoke``, ``/share/link``,
  ``/share/link/delete``;
- ``GET /shared/with-me`` (pending ones to accept or decline, accepted ones to open),
  ``POST /shared/with-me/respond``; ``GET /shared/by-me`` (shares and links, revoke).

Who may share what with whom, for how long, with which rights is the sharing
core's to decide; a refusal comes back as the dialog with the reason on top.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from thvc.errors import BadRequest, ThvcError
from thvc.files.perms import Perm
from thvc.files.services import Location
from thvc.sharing.models import LinkKind, ShareState
from thvc.sharing.services import TYPE_GROUP, TYPE_USER, SharingService
from thvc.sharing.sharees import find_sharees
from thvc.web import i18n
from thvc.web.files_pages import file_url, path_of, safe_back, segments_of
from thvc.web.http import run
from thvc.web.ui import Ui, WebUser, client_of

# The form's checkboxes and the bits they stand for (reading is always granted).
PERM_FIELDS = (
    ("edit", Perm.UPDATE),
    ("create", Perm.CREATE),
    ("delete", Perm.DELETE),
    ("share", Perm.SHARE),
)


def end_of_day(text: str) -> datetime | None:
    """``2026-12-31`` (an ``<input type=date>``) as the last moment of that day where the
    administrations are; empty is no date."""
    text = text.strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise BadRequest("enter the date as YYYY-MM-DD") from None
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=i18n.ZONE or UTC)
    return end - timedelta(microseconds=1)


def perms_of(fields: dict[str, str]) -> Perm:
    wanted = Perm.READ
    for name, bit in PERM_FIELDS:
        if fields.get(f"perm-{name}"):
            wanted |= bit
    return wanted


def id_of(value: str) -> int:
    if not value.isdigit() or len(value) > 12:
        raise BadRequest("no such entry")
    return int(value)


class SharingPages:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    @property
    def sharing(self) -> SharingService:
        return self.ui.services.sharing

    def routes(self) -> list[Route]:
        page = self.ui.page
        return [
            Route("/share", page(self.dialog), methods=["GET"]),
            Route("/share/add", page(self.add), methods=["POST"]),
            Route("/share/update", page(self.update), methods=["POST"]),
            Route("/share/revoke", page(self.revoke), methods=["POST"]),
            Route("/share/link", page(self.link_create), methods=["POST"]),
            Route("/share/link/delete", page(self.link_delete), methods=["POST"]),
            Route("/shared/with-me", page(self.with_me), methods=["GET"]),
            Route("/shared/with-me/respond", page(self.respond), methods=["POST"]),
            Route("/shared/by-me", page(self.by_me), methods=["GET"]),
        ]

    def perm_names(self, who: WebUser, perms: Perm) -> str:
        tr = self.ui.tr
        names = {
            Perm.READ: tr(who, "read"),
            Perm.UPDATE: tr(who, "edit"),
            Perm.CREATE: tr(who, "create"),
            Perm.DELETE: tr(who, "delete"),
            Perm.SHARE: tr(who, "share"),
        }
        return ", ".join(text for bit, text in names.items() if bit in perms)

    def link_url(self, token: str) -> str:
        return f"{self.ui.settings.base_url.rstrip('/')}/s/{token}"

    async def locate(self, who: WebUser, path: str) -> tuple[list[str], Location]:
        segs = segments_of(path)
        if not segs:
            raise BadRequest("your root folder cannot be shared")
        me = who.principal
        return segs, await run(self.ui.services.files.locate, me, me.login, segs)

    # -- the dialog ----------------------------------------------------------------

    async def dialog(self, request: Request, ui: Ui, who: WebUser) -> Response:
        return await self.show(request, who, request.query_params.get("path", ""))

    async def show(
        self,
        request: Request,
        who: WebUser,
        path: str,
        *,
        error: str = "",
        status: int = 200,
        form: dict[str, str] | None = None,
    ) -> Response:
        segs, loc = await self.locate(who, path)
        me = who.principal
        entry = await run(self.ui.services.files.stat, loc)
        shares = await run(self.sharing.shares_by, me, loc)
        links = await run(self.sharing.links_by, me, loc)
        q = request.query_params.get("q", "").strip()[:100]
        sharees = await run(find_sharees, self.sharing, me, q) if q else []
        done = request.query_params.get("done", "")
        tr = self.ui.tr
        notices = {
            "shared": tr(who, "The item is shared."),
            "changed": tr(who, "The share was changed."),
            "revoked": tr(who, "The share was revoked."),
            "link": tr(who, "The link was created. Copy it and pass it on."),
            "link-deleted": tr(who, "The link was deleted: it no longer opens anything."),
        }
        return self.ui.render(
            request,
            who,
            "files_share.html",
            status=status,
            title=tr(who, "Share “%(name)s”", name=entry.name),
            entry=entry,
            path=path_of(segs),
            back=file_url(segs[:-1]),
            here="/share?" + urlencode({"path": path_of(segs)}),
            q=q,
            sharees=sharees,
            type_user=TYPE_USER,
            type_group=TYPE_GROUP,
            shares=shares,
            links=[(link, self.link_url(link.token)) for link in links],
            perm_fields=[(name, bit, self.perm_names(who, bit)) for name, bit in PERM_FIELDS],
            perm_names=lambda p: self.perm_names(who, p),
            may=entry.perms,
            is_dir=entry.is_dir,
            today=date.today().isoformat(),
            notice=notices.get(done, ""),
            error=error,
            form=form or {},
        )

    async def fail(
        self, request: Request, who: WebUser, fields: dict[str, str], exc: ThvcError
    ) -> Response:
        status, title = self.ui.explain(who, exc)
        form = {k: v for k, v in fields.items() if k not in ("csrf", "password")}
        return await self.show(
            request, who, fields.get("path", ""), error=f"{title}: {exc}", status=status, form=form
        )

    def done(self, path: str, what: str, anchor: str) -> Response:
        return self.ui.redirect("/share?" + urlencode({"path": path, "done": what}) + anchor)

    # -- shares ------------------------------------------------------------------------

    async def add(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        path = fields.get("path", "")
        try:
            _, loc = await self.locate(who, path)
            kind, _, name = fields.get("with", "").partition(":")
            if not name or kind not in (str(TYPE_USER), str(TYPE_GROUP)):
                raise BadRequest(ui.tr(who, "Choose whom to share with: search, then pick one."))
            target: dict[str, Any] = {"user": name} if kind == str(TYPE_USER) else {"group": name}
            await run(
                self.sharing.share,
                who.principal,
                loc,
                permissions=perms_of(fields),
                expires_at=end_of_day(fields.get("expires", "")),
                note=fields.get("note", "").strip()[:2000],
                client=client_of(request),
                **target,
            )
        except ThvcError as exc:
            return await self.fail(request, who, fields, exc)
        return self.done(path, "shared", "#shares")

    async def update(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        path = fields.get("path", "")
        try:
            await run(
                self.sharing.update_share,
                who.principal,
                id_of(fields.get("share", "")),
                permissions=perms_of(fields),
                expires_at=end_of_day(fields.get("expires", "")),
                client=client_of(request),
            )
        except ThvcError as exc:
            return await self.fail(request, who, fields, exc)
        return self.done(path, "changed", "#shares")

    async def revoke(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        await run(
            self.sharing.delete_share,
            who.principal,
            id_of(fields.get("share", "")),
            client=client_of(request),
        )
        path = fields.get("path", "")
        if path:
            return self.done(path, "revoked", "#shares")
        return ui.redirect(safe_back(fields.get("back", ""), "/shared/by-me") + "?done=revoked")

    # -- links -------------------------------------------------------------------------

    async def link_create(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        path = fields.get("path", "")
        try:
            _, loc = await self.locate(who, path)
            try:
                kind = LinkKind(fields.get("kind", "read"))
            except ValueError:
                raise BadRequest("no such kind of link") from None
            limit = fields.get("max_downloads", "").strip()
            if limit and not limit.isdigit():
                raise BadRequest(ui.tr(who, "The download limit is a whole number."))
            await run(
                self.sharing.create_link,
                who.principal,
                loc,
                kind=kind,
                password=fields.get("password") or None,
                expires_at=end_of_day(fields.get("expires", "")),
                max_downloads=int(limit) if limit else None,
                note=fields.get("note", "").strip()[:2000],
                client=client_of(request),
            )
        except ThvcError as exc:
            return await self.fail(request, who, fields, exc)
        return self.done(path, "link", "#links")

    async def link_delete(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        await run(
            self.sharing.delete_link,
            who.principal,
            id_of(fields.get("link", "")),
            client=client_of(request),
        )
        path = fields.get("path", "")
        if path:
            return self.done(path, "link-deleted", "#links")
        return ui.redirect("/shared/by-me?done=link-deleted")

    # -- what others share with me -------------------------------------------------------

    async def with_me(self, request: Request, ui: Ui, who: WebUser) -> Response:
        me = who.principal
        pending = await run(self.sharing.shared_with, me, pending=True)
        accepted = await run(self.sharing.shared_with, me)
        root = await run(ui.services.files.locate, me, me.login, [])
        # The name each share has in one's root (a taken name gets the sharer's login).
        names = {m.share_id: m.name for m in root.mounts if m.share_id is not None}
        done = request.query_params.get("done", "")
        notices = {
            "accepted": ui.tr(who, "The share was accepted: it is in your files now."),
            "declined": ui.tr(who, "The share was declined."),
        }
        return ui.render(
            request,
            who,
            "files_with_me.html",
            title=ui.tr(who, "Shared with me"),
            pending=pending,
            accepted=[(s, file_url([names[s.id]]) if s.id in names else "") for s in accepted],
            perm_names=lambda p: self.perm_names(who, p),
            notice=notices.get(done, ""),
        )

    async def respond(self, request: Request, ui: Ui, who: WebUser) -> Response:
        fields = await ui.form(request, who)
        accept = fields.get("answer") == "accept"
        await run(
            self.sharing.respond,
            who.principal,
            id_of(fields.get("share", "")),
            accept=accept,
            client=client_of(request),
        )
        return ui.redirect("/shared/with-me?done=" + ("accepted" if accept else "declined"))

    # -- what I share ------------------------------------------------------------------

    async def by_me(self, request: Request, ui: Ui, who: WebUser) -> Response:
        me = who.principal
        shares = await run(self.sharing.shares_by, me)
        links = await run(self.sharing.links_by, me)
        done = request.query_params.get("done", "")
        notices = {
            "revoked": ui.tr(who, "The share was revoked."),
            "link-deleted": ui.tr(who, "The link was deleted: it no longer opens anything."),
        }
        return ui.render(
            request,
            who,
            "files_by_me.html",
            title=ui.tr(who, "Shared by me"),
            shares=[s for s in shares if s.state is not ShareState.DECLINED],
            declined=[s for s in shares if s.state is ShareState.DECLINED],
            links=[(link, self.link_url(link.token)) for link in links],
            perm_names=lambda p: self.perm_names(who, p),
            notice=notices.get(done, ""),
        )
