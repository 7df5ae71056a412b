"""The sharee search: whom a user may pick as the recipient of a share.

Only users of tenants :meth:`SharingService.may_share_with` lists (the
caller's own, and those both tenants' policies allow) are ever found, and
groups only of the caller's own tenant. Users of another tenant are found
only by a term of at least :data:`MIN_FOREIGN_TERM` characters and never more
than :data:`FOREIGN_CAP` of them per search, so that nobody can page through
another organisation's directory one letter at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from thvc.accounts.models import Group, User, UserState
from thvc.accounts.services import Principal
from thvc.sharing.services import TYPE_GROUP, TYPE_USER, SharingService
from thvc.tenants.models import Tenant

MIN_FOREIGN_TERM = 3
FOREIGN_CAP = 10
MAX_LIMIT = 200


@dataclass(frozen=True)
class Sharee:
    """One possible recipient: a user (by login) or a group (by name)."""

    share_type: int  # TYPE_USER or TYPE_GROUP
    id: str
    display_name: str
    tenant_slug: str
    # The term is the login, the display name or the e-mail address (any case).
    exact: bool


def _user_matches(
    s: Session, term: str, tenant_ids: list[int], exclude: int, limit: int
) -> list[Sharee]:
    """Exact matches first (they are never crowded out by partial ones), then partial."""
    if not tenant_ids or limit <= 0:
        return []
    columns = (
        func.lower(User.login),
        func.lower(User.display_name),
        func.lower(func.coalesce(User.email, "")),
    )
    base = (
        select(User.login, User.display_name, Tenant.slug)
        .join(Tenant, Tenant.id == User.tenant_id)
        .where(
            User.tenant_id.in_(tenant_ids),
            User.state == UserState.ACTIVE,
            User.id != exclude,
        )
        .order_by(User.login)
    )
    if not term:
        return _rows(s, base.limit(limit), exact=False)
    exact_cond = or_(*(c == term for c in columns))
    found = _rows(s, base.where(exact_cond).limit(limit), exact=True)
    if len(found) < limit:
        partial = base.where(_contains(columns, term), ~exact_cond)
        found += _rows(s, partial.limit(limit - len(found)), exact=False)
    return found


def _contains(columns: tuple[ColumnElement[str], ...], term: str) -> ColumnElement[bool]:
    return or_(*(c.contains(term, autoescape=True) for c in columns))


def _rows(s: Session, stmt: Select[str, str, str], *, exact: bool) -> list[Sharee]:
    return [
        Sharee(TYPE_USER, login, display or login, slug, exact)
        for login, display, slug in s.execute(stmt)
    ]


def _group_matches(s: Session, term: str, tenant_id: int, slug: str, limit: int) -> list[Sharee]:
    columns = (func.lower(Group.name), func.lower(Group.display_name))
    stmt = select(Group.name, Group.display_name).where(Group.tenant_id == tenant_id)
    if term:
        stmt = stmt.where(_contains(columns, term))
    out = [
        Sharee(TYPE_GROUP, name, display or name, slug, term in (name.lower(), display.lower()))
        for name, display in s.execute(stmt.order_by(Group.name).limit(limit))
    ]
    return sorted(out, key=lambda x: not x.exact)


def find_sharees(
    sharing: SharingService, actor: Principal, term: str, limit: int = 25
) -> list[Sharee]:
    """Users and groups ``actor`` may share with whose login, display name or e-mail
    address contains ``term`` (case-insensitive), exact matches first; at most ``limit``
    users of the own tenant, :data:`FOREIGN_CAP` of other tenants and ``limit`` groups.

    An empty term lists the own tenant only (as Nextcloud's user enumeration does).
    """
    term = " ".join(term.split()).lower()
    limit = max(1, min(limit, MAX_LIMIT))
    allowed = set(sharing.may_share_with(actor))
    with sharing.db.read() as s:
        tenants = {
            slug: tid
            for slug, tid in s.execute(
                select(Tenant.slug, Tenant.id).where(Tenant.slug.in_(allowed))
            )
        }
        own_slug = s.get_one(Tenant, actor.tenant_id).slug
        own = _user_matches(s, term, [actor.tenant_id], actor.user_id, limit)
        foreign: list[Sharee] = []
        if len(term) >= MIN_FOREIGN_TERM:
            others = [tid for slug, tid in sorted(tenants.items()) if tid != actor.tenant_id]
            foreign = _user_matches(s, term, others, actor.user_id, min(limit, FOREIGN_CAP))
        groups = _group_matches(s, term, actor.tenant_id, own_slug, limit)
    users = [*own, *foreign]
    users.sort(key=lambda x: not x.exact)  # stable: own tenant first within each kind
    return [*users, *groups]
