"""``/operator``: the platform operator's console — organisations (tenants), their quotas,
their life cycle, and what each uses.

Only the operator (:func:`thvc.accounts.authz.require_operator`, the check the JSON
API uses too). The changes are :class:`thvc.tenants.services.TenantService`'s,
audited there. Deleting a tenant blocks it at once and destroys its data key only
after the grace period (``tenant_delete_grace_days``); until then the operator
can still see it here.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from thvc.accounts.authz import require_operator
from thvc.errors import AlreadyExists, BadRequest, NotFound
from thvc.tenants.models import TenantKind
from thvc.web.http import run
from thvc.web.ui import Ui, WebUser

KINDS = (TenantKind.MUNICIPALITY, TenantKind.AGENCY, TenantKind.EXTERNAL)
GB = 1000**3


def parse_quota(value: str) -> int | None:
    """A quota typed in GB (``10``, ``2,5``, ``0.5``) as bytes; empty: no limit."""
    value = value.strip().replace(",", ".")
    if not value:
        return None
    try:
        gb = Decimal(value)
    except InvalidOperation:
        raise BadRequest(f"not a number of GB: {value!r}") from None
    if not gb.is_finite() or gb < 0:
        raise BadRequest("the quota must be 0 or more GB")
    return int(gb * GB)


def quota_text(quota: int | None) -> str:
    """The quota as the form shows it again, in GB ("" for no limit)."""
    if quota is None:
        return ""
    text = format(Decimal(quota) / GB, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


class OperatorPages:
    def __init__(self, ui: Ui) -> None:
        self.ui = ui

    def routes(self) -> list[Route]:
        page = self.ui.page
        base = "/operator/tenants/{tenant}"
        return [
            Route("/operator", page(self.console), methods=["GET"]),
            Route("/operator/tenants", page(self.create), methods=["POST"]),
            Route(base + "/quota", page(self.quota), methods=["POST"]),
            Route(base + "/state", page(self.state), methods=["POST"]),
            Route(base + "/delete", page(self.delete), methods=["GET", "POST"]),
        ]

    def notices(self, who: WebUser) -> dict[str, str]:
        tr = self.ui.tr
        return {
            "quota": tr(who, "The quota was saved."),
            "suspended": tr(who, "The organisation is suspended: nobody of it can log in or sync."),
            "resumed": tr(who, "The organisation is active again."),
            "deleted": tr(
                who,
                "The organisation is deleted: it is blocked now, and its data become "
                "unreadable when the grace period ends.",
            ),
        }

    async def _console(
        self,
        request: Request,
        who: WebUser,
        *,
        status: int = 200,
        error: str | None = None,
        created: str | None = None,
        form: dict[str, str] | None = None,
    ) -> Response:
        svc = self.ui.services
        tenants = await run(svc.tenants.all)
        usage = {u.slug: u for u in await run(svc.tenants.usage)}
        users = await run(svc.accounts.user_counts)
        rows: list[dict[str, Any]] = [
            {
                "tenant": t,
                "usage": usage.get(t.slug),
                "users": users.get(t.id, 0),
                "quota_gb": quota_text(t.quota_bytes),
            }
            for t in tenants
        ]
        return self.ui.render(
            request,
            who,
            "operator_console.html",
            status=status,
            title=self.ui.tr(who, "Operator console"),
            rows=rows,
            kinds=[k.value for k in KINDS],
            notice=self.notices(who).get(request.query_params.get("done", "")),
            error=error,
            created=created,
            form=form or {},
            grace_days=svc.settings.tenant_delete_grace_days,
        )

    async def console(self, request: Request, ui: Ui, who: WebUser) -> Response:
        require_operator(who.principal)
        return await self._console(request, who)

    async def create(self, request: Request, ui: Ui, who: WebUser) -> Response:
        require_operator(who.principal)
        form = await ui.form(request, who)
        slug = form.get("slug", "").strip().lower()
        try:
            try:
                kind = TenantKind(form.get("kind", ""))
            except ValueError:
                raise BadRequest("choose the kind of organisation") from None
            if kind not in KINDS:
                raise BadRequest("choose the kind of organisation")
            await run(
                lambda: ui.services.tenants.create(
                    slug,
                    form.get("name", ""),
                    kind=kind,
                    quota_bytes=parse_quota(form.get("quota", "")),
                    actor=who.principal.login,
                )
            )
        except AlreadyExists:
            error = ui.tr(who, "An organisation with that short name exists already.")
            return await self._console(request, who, status=409, error=error, form=form)
        except BadRequest as exc:
            error = ui.tr(who, "The organisation was not created: %(reason)s", reason=exc.message)
            return await self._console(request, who, status=400, error=error, form=form)
        return await self._console(request, who, created=slug)

    async def _slug(self, request: Request) -> str:
        slug = str(request.path_params["tenant"])
        if not any(t.slug == slug for t in await run(self.ui.services.tenants.all)):
            raise NotFound(f"no tenant {slug!r}")
        return slug

    async def quota(self, request: Request, ui: Ui, who: WebUser) -> Response:
        require_operator(who.principal)
        form = await ui.form(request, who)
        slug = await self._slug(request)
        try:
            quota = parse_quota(form.get("quota", ""))
        except BadRequest as exc:
            error = ui.tr(who, "The quota was not changed: %(reason)s", reason=exc.message)
            return await self._console(request, who, status=400, error=error)
        await run(ui.services.tenants.set_quota, slug, quota, actor=who.principal.login)
        return ui.redirect("/operator?done=quota")

    async def state(self, request: Request, ui: Ui, who: WebUser) -> Response:
        require_operator(who.principal)
        form = await ui.form(request, who)
        slug = await self._slug(request)
        tenants = ui.services.tenants
        if form.get("state") == "active":
            await run(tenants.resume, slug, actor=who.principal.login)
            return ui.redirect("/operator?done=resumed")
        await run(tenants.suspend, slug, actor=who.principal.login)
        return ui.redirect("/operator?done=suspended")

    async def delete(self, request: Request, ui: Ui, who: WebUser) -> Response:
        require_operator(who.principal)
        slug = await self._slug(request)
        if request.method == "GET":
            days = ui.services.settings.tenant_delete_grace_days
            return ui.render(
                request,
                who,
                "admin_confirm.html",
                title=ui.tr(who, "Delete organisation"),
                heading=ui.tr(who, "Delete organisation"),
                question=ui.tr(
                    who,
                    "Delete the organisation %(slug)s? Nobody of it can log in from now on. "
                    "After %(days)s days its data key is destroyed, and with it every file "
                    "of the organisation, for good.",
                    slug=slug,
                    days=days,
                ),
                action=f"/operator/tenants/{slug}/delete",
                fields={},
                confirm=ui.tr(who, "Delete organisation"),
                cancel="/operator",
            )
        await ui.form(request, who)
        await run(ui.services.tenants.delete, slug, actor=who.principal.login)
        return ui.redirect("/operator?done=deleted")
