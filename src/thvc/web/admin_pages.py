"""``/admin/{tenant}``: an organisation's administration — accounts, guests, groups, usage,
sharing policy, audit trail.

Who may is decided by :mod:`thvc.accounts.authz` (the same checks the JSON API
calls): a tenant admin administers their own tenant, the platform operator every
tenant (``/admin`` lets the operator pick one). Each handler checks first, then
calls the core service that makes the change and records it in the audit trail.

Forms that succeed redirect to their page with ``?done=…``; the two answers that
show a secret (a generated initial password, an invitation link) are rendered in
the answer to the POST and never put in a URL.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TextIO, cast
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from thvc.accounts.authz import (
    require_may_grant,
    require_tenant_admin,
    require_user_admin,
)
from thvc.accounts.models import Role, UserState
from thvc.accounts.passwords import generate_password
from thvc.accounts.services import split_login
from thvc.audit import AuditEvent, export, query
from thvc.db.engine import Database
from thvc.errors import AlreadyExists, BadRequest, Forbidden, NotFound
from thvc.services import Services
from thvc.tenants.models import Tenant
from thvc.tenants.services import TenantUsage
from thvc.web import i18n
from thvc.web.http import content_disposition, run
from thvc.web.ui import SECURITY_HEADERS, Ui, WebUser, client_of

log = logging.getLogger(__name__)

# Roles a user can be given on the users page (guests come by invitation, operators by
# ``thvc init``).
GRANTABLE = (Role.MEMBER, Role.TENANT_ADMIN)
AUDIT_PAGE = 50
# Events looked at per audit page at most when a date range skips many (the core's
# query has no date filter yet): beyond, the page offers to search on.
AUDIT_SCAN = 20_000
AUDIT_BATCH = 500
EXPORT_CHUNK = 256 * 1024


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    # Where the next (older) page starts (``?before=``), None when there is none.
    more: int | None


def audit_page(
    db: Database,
    tenant_id: int,
    *,
    since: datetime | None,
    until: datetime | None,
    action: str | None,
    actor: str | None,
    before: int | None,
    limit: int = AUDIT_PAGE,
) -> AuditPage:
    """One page of the tenant's events, newest first, ``since <= at < until``."""
    found: list[AuditEvent] = []
    cursor, scanned = before, 0
    with db.read() as s:
        while scanned < AUDIT_SCAN:
            batch = query(
                s,
                tenant_id=tenant_id,
                actor=actor,
                action=action,
                limit=AUDIT_BATCH,
                before_seq=cursor,
            )
            for event in batch:
                scanned += 1
                cursor = event.seq
                if until is not None and event.at >= until:
                    continue
                if since is not None and event.at < since:
                    return AuditPage(found, None)  # seq order is time order
                found.append(event)
                if len(found) == limit:
                    return AuditPage(found, event.seq)
            if len(batch) < AUDIT_BATCH:
                return AuditPage(found, None)
    return AuditPage(found, cursor)


class _Stopped(Exception):
    """The client went away: the export thread stops."""


def stream_export(
    db: Database, *, tenant_id: int, since: datetime | None, until: datetime | None
) -> Generator[bytes, None, None]:
    """The core's JSON-lines export as a stream of ~256 KiB chunks.

    ``audit.export`` writes to a file; here it runs in a thread of its own, writing
    through a small bounded queue, so memory stays bounded however long the trail,
    and stops when the download is abandoned.
    """
    chunks: queue.Queue[bytes | BaseException | None] = queue.Queue(maxsize=8)
    stop = threading.Event()

    def put(item: bytes | BaseException | None) -> None:
        while not stop.is_set():
            try:
                chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue
        raise _Stopped

    class Sink:
        def __init__(self) -> None:
            self.parts: list[str] = []
            self.size = 0

        def write(self, text: str) -> int:
            self.parts.append(text)
            self.size += len(text)
            if self.size >= EXPORT_CHUNK:
                self.flush()
            return len(text)

        def flush(self) -> None:
            if self.parts:
                put("".join(self.parts).encode())
                self.parts, self.size = [], 0

    def produce() -> None:
        sink = Sink()
        try:
            with db.read() as s:
                export(s, cast(TextIO, sink), tenant_id=tenant_id, since=since, until=until)
            sink.flush()
            put(None)
        except _Stopped:
            pass
        except BaseException as exc:  # handed to the response, which logs it
            with contextlib.suppress(_Stopped):
                put(exc)

    threading.Thread(target=produce, name="audit-export", daemon=True).start()
    try:
        while True:
            item = chunks.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                log.error("audit export failed", exc_info=item)
                return  # the response has started: the download ends short
            yield item
    finally:
        stop.set()


def parse_day(value: str, *, end: bool = False) -> datetime | None:
    """A form's ``YYYY-MM-DD`` as the start of that day (``end``: of the next) where the
    administrations are (Europe/Berlin), in UTC."""
    value = value.strip()
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"not a date: {value!r} (YYYY-MM-DD)") from None
    if end:
        day += timedelta(days=1)
    return datetime.combine(day, time.min, tzinfo=i18n.ZONE or UTC).astimezone(UTC)


def parse_optional_int(value: str, name: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number") from None


class AdminPages:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        page = self.ui.page
        base = "/admin/{tenant}"
        return [
            Route("/admin", page(self.start), methods=["GET"]),
            Route(base, page(self.overview), methods=["GET"]),
            Route(base + "/users", page(self.users), methods=["GET", "POST"]),
            Route(base + "/users/state", page(self.user_state), methods=["POST"]),
            Route(base + "/users/delete", page(self.user_delete), methods=["GET", "POST"]),
            Route(base + "/guests", page(self.guests), methods=["GET", "POST"]),
            Route(base + "/groups", page(self.groups), methods=["GET", "POST"]),
            Route(base + "/groups/members", page(self.group_member), methods=["POST"]),
            Route(base + "/groups/delete", page(self.group_delete), methods=["POST"]),
            Route(base + "/policy", page(self.policy), methods=["GET", "POST"]),
            Route(base + "/audit", page(self.audit), methods=["GET"]),
            Route(base + "/audit/export", page(self.audit_export), methods=["GET"]),
        ]

    # -- shared -------------------------------------------------------------------

    @property
    def svc(self) -> Services:
        return self.ui.services

    async def _tenant(self, request: Request, who: WebUser) -> Tenant:
        """The tenant of the URL, once the asking user may administer it."""
        slug = request.path_params["tenant"]
        require_tenant_admin(who.principal, slug)
        for tenant in await run(self.svc.tenants.all):
            if tenant.slug == slug:
                return tenant
        raise NotFound(f"no tenant {slug!r}")

    @staticmethod
    def _own_login(tenant: Tenant, login: str) -> str:
        """``login`` if it belongs to ``tenant`` (else NotFound: not on this page)."""
        login = login.strip().lower()
        _, slug = split_login(login)
        if slug != tenant.slug:
            raise NotFound(f"no user {login!r} in {tenant.slug}")
        return login

    def notices(self, who: WebUser) -> dict[str, str]:
        tr = self.ui.tr
        return {
            "enabled": tr(who, "The account was enabled."),
            "disabled": tr(who, "The account was disabled; its sessions no longer work."),
            "deleted": tr(who, "The account was deleted."),
            "group": tr(who, "The group was created."),
            "group-deleted": tr(who, "The group was deleted; shares to it have ended."),
            "member-added": tr(who, "The member was added to the group."),
            "member-removed": tr(who, "The member was removed from the group."),
            "policy": tr(who, "The sharing rules were saved."),
        }

    def _render(
        self,
        request: Request,
        who: WebUser,
        tenant: Tenant,
        template: str,
        section: str,
        title: str,
        *,
        status: int = 200,
        **values: Any,
    ) -> Response:
        values.setdefault("notice", self.notices(who).get(request.query_params.get("done", "")))
        values.setdefault("error", None)
        return self.ui.render(
            request,
            who,
            template,
            status=status,
            tenant=tenant,
            section=section,
            title=f"{title} \N{EN DASH} {tenant.name}",
            heading=title,
            **values,
        )

    # -- /admin and the overview ------------------------------------------------------

    async def start(self, request: Request, ui: Ui, who: WebUser) -> Response:
        me = who.principal
        if me.role is not Role.OPERATOR:
            require_tenant_admin(me, me.tenant_id)
            slug = me.login.rpartition("@")[2]
            return ui.redirect(f"/admin/{slug}")
        tenants = await run(self.svc.tenants.all)
        return ui.render(
            request,
            who,
            "admin_pick.html",
            title=ui.tr(who, "Organisations"),
            tenants=tenants,
        )

    def _usage(self, tenant: Tenant) -> TenantUsage | None:
        return next((u for u in self.svc.tenants.usage() if u.slug == tenant.slug), None)

    async def overview(self, request: Request, ui: Ui, who: WebUser) -> Response:
        tenant = await self._tenant(request, who)
        usage = await run(self._usage, tenant)
        accounts = await run(self.svc.accounts.list_users, tenant.slug)
        active = sum(1 for u, _ in accounts if u.state is UserState.ACTIVE)
        guests = sum(1 for u, _ in accounts if u.role is Role.GUEST)
        groups = await run(self.svc.accounts.groups, tenant.id)
        percent = None
        if tenant.quota_bytes:
            percent = min(100, round(100 * tenant.used_bytes / tenant.quota_bytes))
        return self._render(
            request,
            who,
            tenant,
            "admin_overview.html",
            "overview",
            ui.tr(who, "Overview"),
            usage=usage,
            accounts=len(accounts),
            active=active,
            guests=guests,
            groups=len(groups),
            percent=percent,
        )

    # -- users ----------------------------------------------------------------------

    async def users(self, request: Request, ui: Ui, who: WebUser) -> Response:
        tenant = await self._tenant(request, who)
        created: tuple[str, str | None] | None = None
        error, status = None, 200
        form: dict[str, str] = {}
        if request.method == "POST":
            form = await ui.form(request, who)
            try:
                created = await self._create_user(who, tenant, form)
            except AlreadyExists:
                error, status = ui.tr(who, "An account of that name exists already."), 409
            except BadRequest as exc:
                error, status = (
                    ui.tr(who, "The account was not created: %(reason)s", reason=exc.message),
                    400,
                )
            else:
                form = {}
        accounts = await run(self.svc.accounts.list_users, tenant.slug)
        return self._render(
            request,
            who,
            tenant,
            "admin_users.html",
            "users",
            ui.tr(who, "Accounts"),
            status=status,
            error=error,
            users=[u for u, _ in accounts if u.role is not Role.GUEST],
            created=created,
            form=form,
            roles=[r.value for r in GRANTABLE],
        )

    async def _create_user(
        self, who: WebUser, tenant: Tenant, form: dict[str, str]
    ) -> tuple[str, str | None]:
        """(login, the generated password or None if the admin chose one)."""
        try:
            role = Role(form.get("role", Role.MEMBER.value))
        except ValueError:
            raise BadRequest("no such role") from None
        if role not in GRANTABLE:
            raise BadRequest("guests are invited, not created")
        require_may_grant(who.principal, role)
        name = form.get("name", "").strip().lower()
        password = form.get("password", "")
        generated = None
        if not password:
            generated = password = generate_password(20)
        user = await run(
            self.svc.accounts.create_user,
            f"{name}@{tenant.slug}",
            password,
            role=role,
            display_name=form.get("display_name", "").strip(),
            email=form.get("email", "").strip() or None,
            actor=who.principal.login,
        )
        return user.login, generated

    async def user_state(self, request: Request, ui: Ui, who: WebUser) -> Response:
        tenant = await self._tenant(request, who)
        form = await ui.form(request, who)
        login = self._own_login(tenant, form.get("login", ""))
        require_user_admin(who.principal, login, not_self=True)
        state = UserState.ACTIVE if form.get("state") == "active" else UserState.DISABLED
        await run(self.svc.accounts.set_state, login, state, actor=who.principal.login)
        back = "guests" if form.get("back") == "guests" else "users"
        done = "enabled" if state is UserState.ACTIVE else "disabled"
        return ui.redirect(f"/admin/{tenant.slug}/{back}?done={done}")

    async def user_delete(self, request: Request, ui: Ui, who: WebUser) -> Response:
        tenant = await self._tenant(request, who)
        if request.method == "GET":
            login = self._own_login(tenant, request.query_params.get("login", ""))
            require_user_admin(who.principal, login, not_self=True)
            back = "guests" if request.query_params.get("back") == "guests" else "users"
            return self._render(
                request,
                who,
                tenant,
                "admin_confirm.html",
                back,
                ui.tr(who, "Delete account"),
                question=ui.tr(
                    who,
                    "Delete the account %(login)s? Its own files are deleted with it; "
                    "this cannot be undone. To keep the files, disable the account instead.",
                    login=login,
                ),
                action=f"/admin/{tenant.slug}/users/delete",
                fields={"login": login, "back": back},
                confirm=ui.tr(who, "Delete account"),
                cancel=f"/admin/{tenant.slug}/{back}",
            )
        form = await ui.form(request, who)
        login = self._own_login(tenant, form.get("login", ""))
        require_user_admin(who.principal, login, not_self=True)
        await run(self.svc.accounts.delete_user, login, actor=who.principal.login)
        back = "guests" if form.get("back") == "guests" else "users"
        return ui.redirect(f"/admin/{tenant.slug}/{back}?done=deleted")

    # -- guests ---------------------------------------------------------------------

    async def guests(self, request: Request, ui: Ui, who: WebUser) -> Response:
        tenant = await self._tenant(request, who)
        # Guests join the inviter's own organisation: the operator invites into theirs.
        may_invite = tenant.id == who.principal.tenant_id
        invited = None
        error, status = None, 200
        form: dict[str, str] = {}
        if request.method == "POST":
            form = await ui.form(request, who)
            if not may_invite:
                raise Forbidden("guests are invited by the organisation's own admins")
            try:
                days = parse_optional_int(form.get("days", ""), "days")
                invited = await run(
                    self.svc.invitations.invite,
                    who.principal,
                    form.get("email", ""),
                    display_name=form.get("display_name", "").strip(),
                    days=days,
                    client=client_of(request),
                )
            except BadRequest as exc:
                error, status = (
                    ui.tr(who, "The guest was not invited: %(reason)s", reason=exc.message),
                    400,
                )
            else:
                form = {}
        accounts = await run(self.svc.accounts.list_users, tenant.slug)
        return self._render(
            request,
            who,
            tenant,
            "admin_guests.html",
            "guests",
            ui.tr(who, "Guests"),
            status=status,
            error=error,
            guests=[u for u, _ in accounts if u.role is Role.GUEST],
            invited=invited,
            may_invite=may_invite,
            form=form,
            guest_days=self.svc.settings.guest_days,
            invitation_days=self.svc.settings.invitation_days,
        )

    # -- groups ---------------------------------------------------------------------

    async def groups(self, request: Request, ui: Ui, who: WebUser) -> Response:
        tenant = await self._tenant(request, who)
        error, status = None, 200
        name = ""
        if request.method == "POST":
            form = await ui.form(request, who)
            name = form.get("name", "").strip()
            try:
                await run(
                    self.svc.accounts.create_group, tenant.slug, name, actor=who.principal.login
                )
            except AlreadyExists:
                error, status = ui.tr(who, "A group of that name exists already."), 409
            except BadRequest:
                error, status = (
                    ui.tr(
                        who,
                        "Group names are 1 to 64 lowercase letters, digits, dots, dashes or "
                        "underscores, starting and ending with a letter or digit.",
                    ),
                    400,
                )
            else:
                return ui.redirect(f"/admin/{tenant.slug}/groups?done=group")
        groups = await run(self.svc.accounts.groups, tenant.id)
        accounts = await run(self.svc.accounts.list_users, tenant.slug)
        return self._render(
            request,
            who,
            tenant,
            "admin_groups.html",
            "groups",
            ui.tr(who, "Groups"),
            status=status,
            error=error,
            groups=groups,
            logins=[u.login for u, _ in accounts],
            name=name,
        )

    async def group_member(self, request: Request, ui: Ui, who: WebUser) -> Response:
        tenant = await self._tenant(request, who)
        form = await ui.form(request, who)
        login = self._own_login(tenant, form.get("login", ""))
        require_user_admin(who.principal, login)
        group = form.get("group", "")
        if form.get("remove"):
            await run(self.svc.accounts.remove_from_group, group, login, actor=who.principal.login)
            done = "member-removed"
        else:
            await run(self.svc.accounts.add_to_group, group, login, actor=who.principal.login)
            done = "member-added"
        return ui.redirect(f"/admin/{tenant.slug}/groups?done={done}")

    async def group_delete(self, request: Request, ui: Ui, who: WebUser) -> Response:
        tenant = await self._tenant(request, who)
        form = await ui.form(request, who)
        await run(
            self.svc.accounts.delete_group,
            tenant.slug,
            form.get("group", ""),
            actor=who.principal.login,
        )
        return ui.redirect(f"/admin/{tenant.slug}/groups?done=group-deleted")

    # -- policy ---------------------------------------------------------------------

    async def policy(self, request: Request, ui: Ui, who: WebUser) -> Response:
        tenant = await self._tenant(request, who)
        error, status = None, 200
        if request.method == "POST":
            form = await ui.form(request, who)
            try:
                await self._set_policy(who, tenant, form)
            except (BadRequest, NotFound) as exc:
                error = ui.tr(who, "The rules were not saved: %(reason)s", reason=exc.message)
                status = 400
            else:
                return ui.redirect(f"/admin/{tenant.slug}/policy?done=policy")
        policy = await run(self.svc.tenants.policy, tenant.slug)
        others = [t.slug for t in await run(self.svc.tenants.all) if t.slug != tenant.slug]
        return self._render(
            request,
            who,
            tenant,
            "admin_policy.html",
            "policy",
            ui.tr(who, "Sharing rules"),
            status=status,
            error=error,
            policy=policy,
            others=others,
        )

    async def _set_policy(self, who: WebUser, tenant: Tenant, form: dict[str, str]) -> None:
        scope = form.get("share", "all")
        if scope == "list":
            share_with = form.get("share_with", "")
            if not share_with.strip():
                raise BadRequest("name the organisations to share with")
        elif scope in ("all", "none"):
            share_with = scope
        else:
            raise BadRequest("choose with whom may be shared")
        max_days = parse_optional_int(form.get("link_max_days", ""), "the longest link validity")
        await run(
            lambda: self.svc.tenants.set_policy(
                tenant.slug,
                share_with=share_with,
                links=form.get("links") == "on",
                link_password_required=form.get("link_password") == "on",
                link_max_days=max_days,
                auto_accept=form.get("auto_accept") == "on",
                members_invite=form.get("members_invite") == "on",
                actor=who.principal.login,
            )
        )

    # -- audit ----------------------------------------------------------------------

    def _audit_filters(self, request: Request) -> dict[str, str]:
        q = request.query_params
        return {k: q.get(k, "").strip() for k in ("from", "to", "action", "actor")}

    async def audit(self, request: Request, ui: Ui, who: WebUser) -> Response:
        tenant = await self._tenant(request, who)
        filters = self._audit_filters(request)
        error, status = None, 200
        page = AuditPage([], None)
        try:
            since = parse_day(filters["from"])
            until = parse_day(filters["to"], end=True)
            before = parse_optional_int(request.query_params.get("before", ""), "before")
        except BadRequest:
            error, status = ui.tr(who, "Enter dates as YYYY-MM-DD."), 400
        else:
            page = await run(
                audit_page,
                self.svc.db,
                tenant.id,
                since=since,
                until=until,
                action=filters["action"] or None,
                actor=filters["actor"].lower() or None,
                before=before,
            )
        more_url = None
        if page.more is not None:
            more_url = "?" + _query({**filters, "before": str(page.more)})
        export_url = f"/admin/{tenant.slug}/audit/export?" + _query(
            {"from": filters["from"], "to": filters["to"]}
        )
        return self._render(
            request,
            who,
            tenant,
            "admin_audit.html",
            "audit",
            ui.tr(who, "Audit log"),
            status=status,
            error=error,
            filters=filters,
            events=page.events,
            more_url=more_url,
            export_url=export_url,
            paged="before" in request.query_params,
        )

    async def audit_export(self, request: Request, ui: Ui, who: WebUser) -> Response:
        tenant = await self._tenant(request, who)
        filters = self._audit_filters(request)
        since = parse_day(filters["from"])
        until = parse_day(filters["to"], end=True)
        name = f"audit-{tenant.slug}-{date.today().isoformat()}.jsonl"
        return StreamingResponse(
            stream_export(self.svc.db, tenant_id=tenant.id, since=since, until=until),
            media_type="application/x-ndjson",
            headers={**SECURITY_HEADERS, "Content-Disposition": content_disposition(name)},
        )


def _query(values: dict[str, str]) -> str:
    return urlencode({k: v for k, v in values.items() if v})
