"""``/admin`` (an organisation's administration) and ``/operator`` (the platform's console)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import httpx
import pytest

from tests.common import factories
from tests.web.conftest import TestClient
from tests.web.test_login import assert_safe_page, log_in, logged_in
from thvc.accounts.models import Role, UserState
from thvc.accounts.services import Principal
from thvc.errors import NotAuthenticated
from thvc.services import Services
from thvc.tenants.models import ShareScope, TenantKind, TenantState
from thvc.web import admin_pages
from thvc.web.operator_pages import parse_quota, quota_text

PW = factories.PASSWORD


def page_csrf(response: httpx.Response) -> str:
    found = re.search(r'<body data-csrf="([^"]+)"', response.text)
    assert found, f"no CSRF token on the page:\n{response.text[:1000]}"
    return found.group(1)


def post(client: TestClient, url: str, **fields: str) -> httpx.Response:
    token = page_csrf(client.get("/accessibility"))
    return client.post(url, data={"csrf": token, **fields})


@pytest.fixture
def chef(svc: Services) -> Principal:
    """The tenant admin of lauscha."""
    return factories.user(svc, "chef@lauscha", role=Role.TENANT_ADMIN)


@pytest.fixture
def anna(svc: Services, chef: Principal) -> Principal:
    return factories.user(svc, "anna@lauscha")


@pytest.fixture
def bert(svc: Services) -> Principal:
    """A member of another tenant."""
    factories.user(svc, "boss@suhl", role=Role.TENANT_ADMIN)
    return factories.user(svc, "bert@suhl")


@pytest.fixture
def operator(svc: Services) -> Principal:
    factories.tenant(svc, "platform", kind=TenantKind.PLATFORM)
    return factories.user(svc, "admin@platform", role=Role.OPERATOR)


@pytest.fixture
def as_chef(client: TestClient, chef: Principal, anna: Principal) -> TestClient:
    assert log_in(client, "chef@lauscha").status_code == 303
    return client


@pytest.fixture
def as_operator(client: TestClient, operator: Principal) -> TestClient:
    assert log_in(client, "admin@platform").status_code == 303
    return client


# -- who may ------------------------------------------------------------------------


def test_a_member_administers_nothing(client: TestClient, anna: Principal) -> None:
    log_in(client, "anna@lauscha")
    for url in ("/admin", "/admin/lauscha", "/admin/lauscha/users", "/operator"):
        refused = client.get(url)
        assert refused.status_code == 403, url
        assert_safe_page(refused)
    assert post(client, "/admin/lauscha/users", name="eve").status_code == 403
    assert post(client, "/operator/tenants", slug="x", name="X").status_code == 403
    # And the navigation does not offer it.
    page = client.get("/accessibility")
    assert 'href="/admin"' not in page.text and 'href="/operator"' not in page.text


def test_a_tenant_admin_administers_only_their_own_tenant(
    as_chef: TestClient, svc: Services, bert: Principal
) -> None:
    start = as_chef.get("/admin")
    assert start.status_code == 303 and start.headers["location"] == "/admin/lauscha"
    for url in ("/admin/suhl", "/admin/suhl/users", "/admin/suhl/audit", "/admin/nosuch"):
        assert as_chef.get(url).status_code == 403, url
    assert post(as_chef, "/admin/suhl/users", name="eve").status_code == 403
    assert post(as_chef, "/admin/suhl/users/state", login="bert@suhl").status_code == 403
    # A user of another tenant through one's own tenant's URL: not there.
    assert (
        post(as_chef, "/admin/lauscha/users/state", login="bert@suhl", state="disabled")
    ).status_code == 404
    assert post(as_chef, "/admin/lauscha/users/delete", login="bert@suhl").status_code == 404
    assert (
        post(as_chef, "/admin/lauscha/groups/members", group="g", login="bert@suhl")
    ).status_code == 404
    assert as_chef.get("/admin/suhl/audit/export").status_code == 403
    assert as_chef.get("/operator").status_code == 403
    assert svc.sessions.login("bert@suhl", PW)  # untouched
    page = as_chef.get("/accessibility")
    assert 'href="/admin"' in page.text and 'href="/operator"' not in page.text


def test_the_operator_picks_any_tenant(as_operator: TestClient, chef: Principal) -> None:
    pick = as_operator.get("/admin")
    assert pick.status_code == 200
    assert_safe_page(pick)
    assert 'href="/admin/lauscha"' in pick.text and "<caption" in pick.text
    assert as_operator.get("/admin/lauscha/users").status_code == 200
    assert as_operator.get("/admin/nosuch").status_code == 404


def test_admins_cannot_disable_or_delete_themselves(as_chef: TestClient) -> None:
    assert (
        post(as_chef, "/admin/lauscha/users/state", login="chef@lauscha", state="disabled")
    ).status_code == 403
    assert post(as_chef, "/admin/lauscha/users/delete", login="chef@lauscha").status_code == 403
    assert logged_in(as_chef)


def test_every_form_needs_the_csrf_token(as_operator: TestClient, anna: Principal) -> None:
    for url in (
        "/admin/lauscha/users",
        "/admin/lauscha/users/state",
        "/admin/lauscha/users/delete",
        "/admin/lauscha/guests",
        "/admin/lauscha/groups",
        "/admin/lauscha/groups/members",
        "/admin/lauscha/policy",
        "/operator/tenants",
        "/operator/tenants/lauscha/quota",
        "/operator/tenants/lauscha/state",
        "/operator/tenants/lauscha/delete",
    ):
        refused = as_operator.post(url, data={"csrf": "forged", "login": "anna@lauscha"})
        assert refused.status_code == 403, url


# -- every page, both languages -----------------------------------------------------------


@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_page_renders_safely_in_both_languages(
    as_operator: TestClient, svc: Services, anna: Principal, lang: str
) -> None:
    svc.accounts.create_group("lauscha", "bauamt")
    svc.accounts.add_to_group("bauamt", "anna@lauscha")
    for url in (
        "/admin",
        "/admin/lauscha",
        "/admin/lauscha/users",
        "/admin/lauscha/users/delete?login=anna%40lauscha",
        "/admin/lauscha/guests",
        "/admin/lauscha/groups",
        "/admin/lauscha/policy",
        "/admin/lauscha/audit",
        "/operator",
        "/operator/tenants/lauscha/delete",
    ):
        page = as_operator.get(url + ("&" if "?" in url else "?") + f"lang={lang}")
        assert page.status_code == 200, url
        assert_safe_page(page)
        assert f'<html lang="{lang}">' in page.text
        for field in re.findall(r'<(?:input|select)[^>]+id="([^"]+)"', page.text):
            assert f'for="{field}"' in page.text, (url, field)
        if "<table" in page.text:
            assert "<caption" in page.text, url


# -- accounts ----------------------------------------------------------------------------


def test_an_account_is_created_with_a_first_password_shown_once(
    as_chef: TestClient, svc: Services
) -> None:
    made = post(as_chef, "/admin/lauscha/users?lang=en", name="Carla", display_name="Carla C.")
    assert made.status_code == 200
    assert "carla@lauscha was created" in made.text
    found = re.search(r'<code id="initial-password">([^<]+)</code>', made.text)
    assert found
    password = found.group(1)
    assert svc.sessions.login("carla@lauscha", password)
    assert password not in as_chef.get("/admin/lauscha/users").text
    users = {u.login: u for u, _ in svc.accounts.list_users("lauscha")}
    assert users["carla@lauscha"].display_name == "Carla C."
    assert users["carla@lauscha"].role is Role.MEMBER


def test_an_account_with_a_chosen_password_and_role(as_chef: TestClient, svc: Services) -> None:
    made = post(
        as_chef,
        "/admin/lauscha/users",
        name="dora",
        role="tenant-admin",
        password="chosen password 1",
        email="dora@lauscha.example",
    )
    assert made.status_code == 200
    assert 'id="initial-password"' not in made.text
    principal = svc.accounts.authenticate("dora@lauscha", "chosen password 1", client=None)
    assert principal.role is Role.TENANT_ADMIN


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"name": "anna"}, 409),
        ({"name": "Not Valid!"}, 400),
        ({"name": "eve", "password": "short"}, 400),
        ({"name": "eve", "role": "operator"}, 400),
        ({"name": "eve", "role": "guest"}, 400),
        ({"name": "eve", "role": "king"}, 400),
    ],
)
def test_a_refused_account_says_why(
    as_chef: TestClient, svc: Services, fields: dict[str, str], status: int
) -> None:
    refused = post(as_chef, "/admin/lauscha/users", **fields)
    assert refused.status_code == status
    assert 'role="alert"' in refused.text
    assert "eve@lauscha" not in {u.login for u, _ in svc.accounts.list_users("lauscha")}


def test_disabling_an_account_ends_its_log_in(
    as_chef: TestClient, svc: Services, anna: Principal
) -> None:
    token = svc.sessions.login("anna@lauscha", PW).token
    off = post(as_chef, "/admin/lauscha/users/state", login="anna@lauscha", state="disabled")
    assert (
        off.status_code == 303 and off.headers["location"] == "/admin/lauscha/users?done=disabled"
    )
    with pytest.raises(NotAuthenticated):
        svc.sessions.resume(token)
    with pytest.raises(NotAuthenticated):
        svc.sessions.login("anna@lauscha", PW)
    page = as_chef.get(off.headers["location"])
    assert 'role="status"' in page.text
    on = post(as_chef, "/admin/lauscha/users/state", login="anna@lauscha", state="active")
    assert on.status_code == 303
    svc.sessions.login("anna@lauscha", PW)


def test_deleting_an_account_asks_first(
    as_chef: TestClient, svc: Services, anna: Principal
) -> None:
    factories.put(svc, anna, "/notiz.txt", b"hello")
    ask = as_chef.get("/admin/lauscha/users/delete", params={"login": "anna@lauscha"})
    assert ask.status_code == 200
    assert 'action="/admin/lauscha/users/delete"' in ask.text
    assert 'name="login" value="anna@lauscha"' in ask.text
    assert "anna@lauscha" in {u.login for u, _ in svc.accounts.list_users("lauscha")}
    gone = post(as_chef, "/admin/lauscha/users/delete", login="anna@lauscha")
    assert gone.status_code == 303
    assert "anna@lauscha" not in {u.login for u, _ in svc.accounts.list_users("lauscha")}
    assert post(as_chef, "/admin/lauscha/users/delete", login="anna@lauscha").status_code == 404


# -- guests --------------------------------------------------------------------------------


def test_a_guest_is_invited_and_the_link_shown(as_chef: TestClient, svc: Services) -> None:
    invited = post(
        as_chef,
        "/admin/lauscha/guests?lang=en",
        email="Gerda@Example.org",
        display_name="Gerda",
        days="30",
    )
    assert invited.status_code == 200
    found = re.search(r'<code id="invitation-link">([^<]+)</code>', invited.text)
    assert found and "/invite/" in found.group(1)
    guests = [u for u, _ in svc.accounts.list_users("lauscha") if u.role is Role.GUEST]
    assert [g.email for g in guests] == ["gerda@example.org"]
    listed = as_chef.get("/admin/lauscha/guests")
    assert guests[0].login in listed.text and found.group(1) not in listed.text
    bad = post(as_chef, "/admin/lauscha/guests", email="not an address")
    assert bad.status_code == 400 and 'role="alert"' in bad.text
    assert post(as_chef, "/admin/lauscha/guests", email="a@b.org", days="x").status_code == 400


def test_the_operator_does_not_invite_into_other_tenants(
    as_operator: TestClient, chef: Principal
) -> None:
    page = as_operator.get("/admin/lauscha/guests")
    assert 'action="/admin/lauscha/guests"' not in page.text
    assert post(as_operator, "/admin/lauscha/guests", email="x@example.org").status_code == 403


# -- groups --------------------------------------------------------------------------------


def test_groups_are_created_and_filled(as_chef: TestClient, svc: Services, anna: Principal) -> None:
    made = post(as_chef, "/admin/lauscha/groups", name="bauamt")
    assert made.status_code == 303
    assert post(as_chef, "/admin/lauscha/groups", name="bauamt").status_code == 409
    assert post(as_chef, "/admin/lauscha/groups", name="Bau Amt").status_code == 400
    added = post(as_chef, "/admin/lauscha/groups/members", group="bauamt", login="anna@lauscha")
    assert added.status_code == 303
    assert [(g.name, g.members) for g in svc.accounts.groups(anna.tenant_id)] == [
        ("bauamt", ("anna@lauscha",))
    ]
    page = as_chef.get("/admin/lauscha/groups")
    assert "anna@lauscha" in page.text
    removed = post(
        as_chef, "/admin/lauscha/groups/members", group="bauamt", login="anna@lauscha", remove="1"
    )
    assert removed.status_code == 303
    assert svc.accounts.groups(anna.tenant_id)[0].members == ()
    gone = post(as_chef, "/admin/lauscha/groups/delete", group="bauamt")
    assert gone.status_code == 303 and gone.headers["location"].endswith("done=group-deleted")
    assert svc.accounts.groups(anna.tenant_id) == []
    assert post(as_chef, "/admin/lauscha/groups/delete", group="bauamt").status_code == 404
    assert (
        post(as_chef, "/admin/lauscha/groups/members", group="nope", login="anna@lauscha")
    ).status_code == 404


# -- policy --------------------------------------------------------------------------------


def test_the_sharing_rules_are_saved(as_chef: TestClient, svc: Services, bert: Principal) -> None:
    page = as_chef.get("/admin/lauscha/policy")
    assert 'id="share-all" name="share" value="all" checked' in page.text
    assert 'id="links" name="links" checked' in page.text
    saved = post(
        as_chef,
        "/admin/lauscha/policy",
        share="list",
        share_with="suhl",
        link_password="on",
        link_max_days="7",
        members_invite="on",
    )
    assert saved.status_code == 303
    policy = svc.tenants.policy("lauscha")
    assert policy.share_scope is ShareScope.LIST and policy.share_with == ("suhl",)
    assert not policy.links and policy.link_password_required and policy.link_max_days == 7
    assert not policy.auto_accept and policy.members_invite
    assert post(as_chef, "/admin/lauscha/policy", share="none", links="on").status_code == 303
    policy = svc.tenants.policy("lauscha")
    assert policy.share_scope is ShareScope.NONE and policy.links and policy.link_max_days is None
    for bad in (
        {"share": "list", "share_with": "atlantis"},
        {"share": "list", "share_with": ""},
        {"share": "everyone"},
        {"share": "all", "link_max_days": "0"},
        {"share": "all", "link_max_days": "seven"},
    ):
        refused = post(as_chef, "/admin/lauscha/policy", **bad)
        assert refused.status_code == 400, bad
        assert 'role="alert"' in refused.text
    assert svc.tenants.policy("lauscha").share_scope is ShareScope.NONE


# -- usage ---------------------------------------------------------------------------------


def test_the_overview_shows_storage_and_accounts(
    as_operator: TestClient, svc: Services, anna: Principal
) -> None:
    svc.tenants.set_quota("lauscha", 1_000_000)
    factories.put(svc, anna, "/a.bin", b"x" * 250_000)
    page = as_operator.get("/admin/lauscha?lang=en")
    assert page.status_code == 200
    assert "250 kB of 1 MB used (25 %)." in page.text
    assert '<progress max="100" value="25"' in page.text
    assert "2, of which 2 active" in page.text


# -- audit ---------------------------------------------------------------------------------


def test_the_audit_log_shows_only_the_tenants_events(
    as_chef: TestClient, svc: Services, bert: Principal
) -> None:
    svc.accounts.create_group("suhl", "geheim", actor="boss@suhl")
    svc.accounts.create_group("lauscha", "offen", actor="chef@lauscha")
    page = as_chef.get("/admin/lauscha/audit")
    assert page.status_code == 200
    assert "offen@lauscha" in page.text and "geheim" not in page.text
    assert "bert@suhl" not in page.text
    only = as_chef.get("/admin/lauscha/audit", params={"action": "group.create"})
    assert "offen@lauscha" in only.text and "<code>user.create</code>" not in only.text
    by = as_chef.get("/admin/lauscha/audit", params={"actor": "nobody@lauscha"})
    assert "No events match" in by.text or "Keine passenden" in by.text
    today = date.today()
    later = as_chef.get("/admin/lauscha/audit", params={"from": str(today + timedelta(days=2))})
    assert "offen@lauscha" not in later.text
    around = as_chef.get(
        "/admin/lauscha/audit",
        params={"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))},
    )
    assert "offen@lauscha" in around.text
    bad = as_chef.get("/admin/lauscha/audit", params={"from": "yesterday"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text


def test_the_audit_log_pages_on(svc: Services, chef: Principal) -> None:
    for i in range(7):
        svc.accounts.create_group("lauscha", f"g{i}", actor="chef@lauscha")
    first = admin_pages.audit_page(
        svc.db,
        chef.tenant_id,
        since=None,
        until=None,
        action="group.create",
        actor=None,
        before=None,
        limit=5,
    )
    assert [e.target for e in first.events] == [f"g{i}@lauscha" for i in (6, 5, 4, 3, 2)]
    assert first.more is not None
    rest = admin_pages.audit_page(
        svc.db,
        chef.tenant_id,
        since=None,
        until=None,
        action="group.create",
        actor=None,
        before=first.more,
        limit=5,
    )
    assert [e.target for e in rest.events] == ["g1@lauscha", "g0@lauscha"]
    assert rest.more is None


def test_the_audit_export_streams_the_tenants_events(
    as_chef: TestClient, svc: Services, bert: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_pages, "EXPORT_CHUNK", 100)  # many chunks
    svc.accounts.create_group("suhl", "geheim", actor="boss@suhl")
    svc.accounts.create_group("lauscha", "offen", actor="chef@lauscha")
    page = as_chef.get("/admin/lauscha/audit")
    assert 'href="/admin/lauscha/audit/export?' in page.text
    got = as_chef.get("/admin/lauscha/audit/export")
    assert got.status_code == 200
    assert got.headers["content-type"].startswith("application/x-ndjson")
    assert got.headers["content-disposition"].startswith('attachment; filename="audit-lauscha-')
    events = [json.loads(line) for line in got.text.splitlines()]
    lauscha = svc.tenants.all()
    tid = next(t.id for t in lauscha if t.slug == "lauscha")
    assert events and {e["tenant_id"] for e in events} == {tid}
    assert any(e["target"] == "offen@lauscha" for e in events)
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert all(len(e["hash"]) == 64 for e in events)
    none = as_chef.get(
        # Two days ahead: the page reads dates in German time, which is a day ahead of
        # UTC between 23:00 and midnight.
        "/admin/lauscha/audit/export",
        params={"from": str(date.today() + timedelta(days=2))},
    )
    assert none.status_code == 200 and none.text == ""


def test_an_abandoned_export_stops(
    svc: Services, chef: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(admin_pages, "EXPORT_CHUNK", 10)
    for i in range(30):
        svc.accounts.create_group("lauscha", f"g{i}")
    stream = admin_pages.stream_export(svc.db, tenant_id=chef.tenant_id, since=None, until=None)
    assert next(stream)
    stream.close()  # the download went away: the thread ends (no hang, nothing left over)
    whole = b"".join(
        admin_pages.stream_export(svc.db, tenant_id=chef.tenant_id, since=None, until=None)
    )
    assert len(whole.splitlines()) == 32  # 2 users, 30 groups


# -- the operator console ------------------------------------------------------------------


def test_the_operator_creates_a_tenant(as_operator: TestClient, svc: Services) -> None:
    console = as_operator.get("/operator")
    assert console.status_code == 200 and "<caption" in console.text
    made = post(
        as_operator, "/operator/tenants", slug="lauscha", name="Stadt Lauscha", kind="municipality"
    )
    assert made.status_code == 200
    assert 'href="/admin/lauscha/users"' in made.text
    tenant = next(t for t in svc.tenants.all() if t.slug == "lauscha")
    assert tenant.name == "Stadt Lauscha" and tenant.quota_bytes is None
    again = post(as_operator, "/operator/tenants", slug="lauscha", name="X", kind="agency")
    assert again.status_code == 409 and 'role="alert"' in again.text
    for bad in (
        {"slug": "Not Valid", "name": "X", "kind": "agency"},
        {"slug": "ok", "name": " ", "kind": "agency"},
        {"slug": "ok", "name": "X", "kind": "platform"},
        {"slug": "ok", "name": "X", "kind": "agency", "quota": "lots"},
        {"slug": "ok", "name": "X", "kind": "agency", "quota": "-1"},
    ):
        assert post(as_operator, "/operator/tenants", **bad).status_code == 400, bad
    assert "ok" not in {t.slug for t in svc.tenants.all()}
    quota = post(
        as_operator, "/operator/tenants", slug="suhl", name="Suhl", kind="agency", quota="2,5"
    )
    assert quota.status_code == 200
    assert next(t for t in svc.tenants.all() if t.slug == "suhl").quota_bytes == 2_500_000_000


def test_the_operator_changes_quota_and_state(
    as_operator: TestClient, svc: Services, anna: Principal
) -> None:
    assert post(as_operator, "/operator/tenants/lauscha/quota", quota="10").status_code == 303
    assert next(t for t in svc.tenants.all() if t.slug == "lauscha").quota_bytes == 10 * 10**9
    assert 'value="10"' in as_operator.get("/operator").text
    assert post(as_operator, "/operator/tenants/lauscha/quota", quota="").status_code == 303
    assert next(t for t in svc.tenants.all() if t.slug == "lauscha").quota_bytes is None
    assert post(as_operator, "/operator/tenants/lauscha/quota", quota="x").status_code == 400
    assert post(as_operator, "/operator/tenants/nosuch/quota", quota="1").status_code == 404
    off = post(as_operator, "/operator/tenants/lauscha/state", state="suspended")
    assert off.status_code == 303
    with pytest.raises(NotAuthenticated):
        svc.sessions.login("anna@lauscha", PW)
    on = post(as_operator, "/operator/tenants/lauscha/state", state="active")
    assert on.status_code == 303
    svc.sessions.login("anna@lauscha", PW)
    # The platform itself is never suspended.
    assert post(as_operator, "/operator/tenants/platform/state").status_code == 400
    assert logged_in(as_operator)


def test_the_operator_deletes_a_tenant_after_confirming(
    as_operator: TestClient, svc: Services, anna: Principal
) -> None:
    ask = as_operator.get("/operator/tenants/lauscha/delete?lang=en")
    assert ask.status_code == 200
    assert f"After {svc.settings.tenant_delete_grace_days} days" in ask.text
    assert next(t for t in svc.tenants.all() if t.slug == "lauscha").state is TenantState.ACTIVE
    done = post(as_operator, "/operator/tenants/lauscha/delete")
    assert done.status_code == 303
    tenant = next(t for t in svc.tenants.all() if t.slug == "lauscha")
    assert tenant.state is TenantState.DELETED and tenant.delete_after is not None
    with pytest.raises(NotAuthenticated):
        svc.sessions.login("anna@lauscha", PW)
    console = as_operator.get("/operator")
    assert 'action="/operator/tenants/lauscha/state"' not in console.text
    assert post(as_operator, "/operator/tenants/platform/delete").status_code == 400


def test_quota_text_round_trips() -> None:
    for text, value in (
        ("", None),
        ("10", 10 * 10**9),
        ("2,5", 2_500_000_000),
        ("0", 0),
        ("0.000001", 1000),
    ):
        assert parse_quota(text) == value
        assert parse_quota(quota_text(value)) == value


def test_the_user_state_of_accounts_is_shown(
    as_chef: TestClient, svc: Services, anna: Principal
) -> None:
    svc.accounts.set_state("anna@lauscha", UserState.DISABLED)
    page = as_chef.get("/admin/lauscha/users?lang=en")
    row = page.text.split(">anna@lauscha<")[1].split("</tr>")[0]
    assert "disabled" in row and "Enable" in row
