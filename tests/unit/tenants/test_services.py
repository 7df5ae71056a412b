"""TenantService: slugs, life cycle, crypto-shredding after the grace period (§4)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from tests.common import factories

from thvc.audit import query
from thvc.errors import AlreadyExists, BadRequest, NotAuthenticated, NotFound
from thvc.services import Services
from thvc.tenants.models import Tenant, TenantKind, TenantState


@pytest.mark.parametrize("slug", ["lauscha", "a", "suhl-2", "0", "x" * 63, "bad-staffelstein"])
def test_valid_slugs(svc: Services, slug: str) -> None:
    t = svc.tenants.create(slug, "Name")
    assert (t.slug, t.state, t.kind) == (slug, TenantState.ACTIVE, TenantKind.MUNICIPALITY)


@pytest.mark.parametrize(
    "slug",
    [
        "",
        "Lauscha",
        "-lauscha",
        "lauscha-",
        "lau scha",
        "lau_scha",
        "x" * 64,
        "lauscha.de",
        "läuscha",
        "lauscha\n",
    ],
)
def test_invalid_slugs(svc: Services, slug: str) -> None:
    with pytest.raises(BadRequest):
        svc.tenants.create(slug, "Name")


def test_create_stores_name_kind_quota_and_a_wrapped_key(svc: Services) -> None:
    t = svc.tenants.create("suhl", "  Stadt Suhl ", kind=TenantKind.AGENCY, quota_bytes=1000)
    with svc.db.read() as s:
        row = s.scalars(select(Tenant).where(Tenant.slug == "suhl")).one()
        assert (row.name, row.kind, row.quota_bytes, row.used_bytes) == (
            "Stadt Suhl",
            TenantKind.AGENCY,
            1000,
            0,
        )
        assert row.wrapped_key is not None and len(row.wrapped_key) > 32
        assert row.id == t.id


def test_every_tenant_gets_its_own_key(svc: Services) -> None:
    svc.tenants.create("a", "A")
    svc.tenants.create("b", "B")
    with svc.db.read() as s:
        keys = s.scalars(select(Tenant.wrapped_key)).all()
    assert len(set(keys)) == 2


def test_create_refuses_duplicates_blank_names_and_negative_quotas(svc: Services) -> None:
    svc.tenants.create("suhl", "Suhl")
    with pytest.raises(AlreadyExists):
        svc.tenants.create("suhl", "Again")
    with pytest.raises(BadRequest):
        svc.tenants.create("zella", "   ")
    with pytest.raises(BadRequest):
        svc.tenants.create("mehlis", "Mehlis", quota_bytes=-1)


def test_create_is_audited(svc: Services) -> None:
    t = svc.tenants.create("suhl", "Suhl", actor="op@platform")
    with svc.db.read() as s:
        (event,) = query(s, action="tenant.create")
    assert (event.tenant_id, event.actor, event.target) == (t.id, "op@platform", "suhl")


def test_all_lists_by_slug(svc: Services) -> None:
    for slug in ("zella", "apolda", "meiningen"):
        svc.tenants.create(slug, slug)
    assert [t.slug for t in svc.tenants.all()] == ["apolda", "meiningen", "zella"]


def test_unknown_tenant(svc: Services) -> None:
    with pytest.raises(NotFound):
        svc.tenants.suspend("nowhere")


def test_suspend_blocks_logins_and_resume_allows_them(svc: Services) -> None:
    anna = factories.user(svc, "anna@lauscha")
    svc.accounts.authenticate(anna.login, factories.PASSWORD, client="c")
    assert svc.tenants.suspend("lauscha").state is TenantState.SUSPENDED
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate(anna.login, factories.PASSWORD, client="c")
    assert svc.tenants.resume("lauscha").state is TenantState.ACTIVE
    assert svc.accounts.authenticate(anna.login, factories.PASSWORD, client="c").login == anna.login


def test_delete_blocks_logins_and_cannot_be_resumed(svc: Services) -> None:
    anna = factories.user(svc, "anna@lauscha")
    t = svc.tenants.delete("lauscha")
    assert t.state is TenantState.DELETED
    assert t.delete_after is not None
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate(anna.login, factories.PASSWORD, client="c")
    with pytest.raises(BadRequest):
        svc.tenants.resume("lauscha")
    with pytest.raises(BadRequest):
        svc.tenants.suspend("lauscha")
    with pytest.raises(NotFound):
        factories.user(svc, "new@lauscha")


def test_the_platform_tenant_cannot_be_suspended_or_deleted(svc: Services) -> None:
    svc.tenants.create("platform", "Platform", kind=TenantKind.PLATFORM)
    with pytest.raises(BadRequest):
        svc.tenants.suspend("platform")
    with pytest.raises(BadRequest):
        svc.tenants.delete("platform")


def test_set_quota(svc: Services) -> None:
    svc.tenants.create("suhl", "Suhl")
    assert svc.tenants.set_quota("suhl", 5000).quota_bytes == 5000
    assert svc.tenants.set_quota("suhl", None).quota_bytes is None


def test_shred_due_destroys_the_key_only_after_the_grace(svc: Services) -> None:
    anna = factories.user(svc, "anna@lauscha")
    factories.put(svc, anna, "/doc.txt", b"secret content")
    other = factories.user(svc, "ben@suhl")
    factories.put(svc, other, "/keep.txt", b"ben's")
    grace = timedelta(days=svc.settings.tenant_delete_grace_days)

    svc.tenants.delete("lauscha")
    assert svc.tenants.shred_due() == []
    assert svc.tenants.shred_due(now_offset=grace - timedelta(hours=1)) == []
    # Still readable during the grace period (an operator may undo by restoring).
    assert factories.read(svc, anna, "/doc.txt") == b"secret content"

    (shredded,) = svc.tenants.shred_due(now_offset=grace + timedelta(seconds=1))
    assert shredded == anna.tenant_id
    with svc.db.read() as s:
        assert s.scalars(select(Tenant.wrapped_key).where(Tenant.slug == "lauscha")).one() is None
        (event,) = query(s, action="tenant.shred")
        assert event.target == "lauscha"
    with pytest.raises(NotFound):
        svc.files.open_read(factories.loc(svc, anna, "/doc.txt"))
    # Shredding is done once; other tenants are untouched.
    assert svc.tenants.shred_due(now_offset=grace * 2) == []
    assert factories.read(svc, other, "/keep.txt") == b"ben's"
