"""Tenant administration (tenant admins, the operator) and the operator's tenants and usage.

The account and tenant services do not ask who calls; thvc.accounts.authz decides,
and these tests pin what it lets through the API."""

from __future__ import annotations

import pytest
from starlette.types import ASGIApp

from tests.api.support import Api, problem_of
from tests.common import factories
from thvc.accounts.services import Principal
from thvc.services import Services


def test_an_admin_manages_the_users_of_their_tenant(
    app: ASGIApp, api_carla: Api, anna: Principal
) -> None:
    made = api_carla.post(
        "/tenants/lauscha/users",
        json={
            "name": "emil",
            "password": "emils-passwort-1",
            "display_name": "Emil E.",
            "email": "emil@lauscha.example",
            "quota_bytes": 5000,
        },
        check=201,
    ).json()
    assert made["login"] == "emil@lauscha" and made["role"] == "member"
    assert made["state"] == "active" and made["quota_bytes"] == 5000
    emil = Api(app, "emil@lauscha", "emils-passwort-1")
    emil.get("/me")
    logins = [u["login"] for u in api_carla.items("/tenants/lauscha/users", limit=1)]
    assert logins == ["anna@lauscha", "carla@lauscha", "emil@lauscha"]
    assert api_carla.post("/tenants/lauscha/users/emil/disable").json()["state"] == "disabled"
    emil.get("/me", check=401)
    assert api_carla.post("/tenants/lauscha/users/emil/enable").json()["state"] == "active"
    api_carla.put(
        "/tenants/lauscha/users/emil/password", json={"password": "ganz-neu-12345"}, check=204
    )
    Api(app, "emil@lauscha", "ganz-neu-12345").get("/me")
    api_carla.delete("/tenants/lauscha/users/emil", check=204)
    problem_of(api_carla.delete("/tenants/lauscha/users/emil", check=404), 404)
    problem_of(api_carla.post("/tenants/lauscha/users", json={"name": "anna"}, check=409), 409)


def test_an_admin_cannot_lock_themselves_out_or_make_operators(api_carla: Api) -> None:
    for method, path in (
        ("POST", "/tenants/lauscha/users/carla/disable"),
        ("DELETE", "/tenants/lauscha/users/carla"),
    ):
        problem_of(api_carla.request(method, path, check=403), 403)
    problem_of(
        api_carla.post(
            "/tenants/lauscha/users", json={"name": "op", "role": "operator"}, check=403
        ),
        403,
    )


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/tenants/suhl", None),
        ("GET", "/tenants/suhl/users", None),
        ("GET", "/tenants/suhl/usage", None),
        ("POST", "/tenants/suhl/users", {"name": "x"}),
        ("POST", "/tenants/suhl/users/ben/disable", None),
        ("DELETE", "/tenants/suhl/users/ben", None),
        ("POST", "/tenants/suhl/groups", {"name": "g"}),
        ("PUT", "/tenants/suhl/groups/g/members/ben", None),
        ("GET", "/tenants/suhl/groups", None),
        ("DELETE", "/tenants/suhl/groups/g", None),
        ("GET", "/tenants/suhl/policy", None),
        ("PATCH", "/tenants/suhl/policy", {"links": False}),
        ("GET", "/tenants", None),
        ("POST", "/tenants", {"slug": "neu", "name": "Neu"}),
        ("PATCH", "/tenants/lauscha", {"quota_bytes": 1}),
        ("POST", "/tenants/lauscha/suspend", None),
        ("DELETE", "/tenants/lauscha", None),
        ("GET", "/usage", None),
    ],
)
def test_an_admin_is_refused_outside_their_tenant_and_the_operators_tasks(
    api_carla: Api, ben: Principal, method: str, path: str, body: object
) -> None:
    kw = {"json": body} if body is not None else {}
    problem_of(api_carla.request(method, path, check=403, **kw), 403, "forbidden")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/tenants/lauscha"),
        ("GET", "/tenants/lauscha/users"),
        ("POST", "/tenants/lauscha/users/carla/disable"),
        ("GET", "/tenants/lauscha/policy"),
        ("GET", "/audit"),
    ],
)
def test_members_administer_nothing(api: Api, carla: Principal, method: str, path: str) -> None:
    problem_of(api.request(method, path, check=403), 403)


def test_groups_and_their_members(api_carla: Api, anna: Principal) -> None:
    assert api_carla.post("/tenants/lauscha/groups", json={"name": "bauamt"}, check=201).json() == {
        "name": "bauamt",
        "tenant": "lauscha",
    }
    problem_of(api_carla.post("/tenants/lauscha/groups", json={"name": "bauamt"}, check=409), 409)
    problem_of(api_carla.post("/tenants/lauscha/groups", json={"name": "Bau Amt"}, check=422), 422)
    api_carla.put("/tenants/lauscha/groups/bauamt/members/anna", check=204)
    api_carla.put("/tenants/lauscha/groups/bauamt/members/anna", check=204)
    assert api_carla.get("/tenants/lauscha/groups").json() == [
        {"name": "bauamt", "members": ["anna@lauscha"]}
    ]
    api_carla.delete("/tenants/lauscha/groups/bauamt/members/anna", check=204)
    problem_of(api_carla.delete("/tenants/lauscha/groups/bauamt/members/anna", check=404), 404)
    problem_of(api_carla.put("/tenants/lauscha/groups/nope/members/anna", check=404), 404)
    api_carla.delete("/tenants/lauscha/groups/bauamt", check=204)
    assert api_carla.get("/tenants/lauscha/groups").json() == []
    problem_of(api_carla.delete("/tenants/lauscha/groups/bauamt", check=404), 404)


def test_the_policy_is_read_and_changed(api_carla: Api, ben: Principal) -> None:
    policy = api_carla.get("/tenants/lauscha/policy").json()
    assert policy["share_with"] == "all" and policy["links"] is True
    changed = api_carla.patch(
        "/tenants/lauscha/policy",
        json={"share_with": ["suhl"], "link_max_days": 30, "link_password_required": True},
    ).json()
    assert changed["share_with"] == ["suhl"] and changed["link_max_days"] == 30
    assert changed["link_password_required"] is True and changed["links"] is True
    changed = api_carla.patch("/tenants/lauscha/policy", json={"link_max_days": None}).json()
    assert changed["link_max_days"] is None and changed["share_with"] == ["suhl"]
    assert (
        api_carla.patch("/tenants/lauscha/policy", json={"share_with": "none"}).json()["share_with"]
        == "none"
    )
    problem_of(
        api_carla.patch("/tenants/lauscha/policy", json={"share_with": ["nirgendwo"]}, check=404),
        404,
    )
    problem_of(
        api_carla.patch("/tenants/lauscha/policy", json={"link_max_days": 0}, check=422), 422
    )


def test_usage_of_the_own_tenant(api_carla: Api, svc: Services, anna: Principal) -> None:
    factories.put(svc, anna, "/a.bin", b"x" * 1000)
    usage = api_carla.get("/tenants/lauscha/usage").json()
    assert usage["used_bytes"] == 1000 and usage["users"] == 2
    tenant = api_carla.get("/tenants/lauscha").json()
    assert tenant["slug"] == "lauscha" and tenant["state"] == "active"
    etag = api_carla.get("/tenants/lauscha").headers["etag"]
    api_carla.get("/tenants/lauscha", headers={"If-None-Match": etag}, check=304)


def test_guests_are_invited_by_whom_the_policy_allows(
    api: Api, api_carla: Api, svc: Services
) -> None:
    invited = api.post(
        "/guests",
        json={"email": "Gast@Extern.example", "display_name": "Frau Gast", "days": 10},
        check=201,
    ).json()
    assert invited["login"] == "gast.gast@lauscha" and invited["mailed"] is False
    assert "/invite/" in invited["url"]
    problem_of(api.post("/guests", json={"email": "kein-mail"}, check=400), 400)
    svc.tenants.set_policy("lauscha", members_invite=False)
    problem_of(api.post("/guests", json={"email": "b@extern.example"}, check=403), 403)
    api_carla.post("/guests", json={"email": "b@extern.example"}, check=201)


def test_the_operator_runs_the_tenants(app: ASGIApp, api_root: Api, anna: Principal) -> None:
    made = api_root.post(
        "/tenants",
        json={"slug": "sonneberg", "name": "Sonneberg", "kind": "agency", "quota_bytes": 10**9},
        check=201,
    ).json()
    assert made["kind"] == "agency" and made["quota_bytes"] == 10**9
    problem_of(api_root.post("/tenants", json={"slug": "sonneberg", "name": "S"}, check=409), 409)
    problem_of(api_root.post("/tenants", json={"slug": "Bad Slug", "name": "S"}, check=422), 422)
    slugs = [t["slug"] for t in api_root.items("/tenants", limit=2)]
    assert slugs == ["lauscha", "platform", "sonneberg"]
    assert (
        api_root.patch("/tenants/sonneberg", json={"quota_bytes": None}).json()["quota_bytes"]
        is None
    )
    assert api_root.post("/tenants/lauscha/suspend").json()["state"] == "suspended"
    Api(app, anna.login).get("/me", check=401)
    assert api_root.post("/tenants/lauscha/resume").json()["state"] == "active"
    Api(app, anna.login).get("/me")
    deleted = api_root.delete("/tenants/sonneberg").json()
    assert deleted["state"] == "deleted" and deleted["delete_after"] is not None
    problem_of(api_root.delete("/tenants/platform", check=400), 400)
    problem_of(api_root.get("/tenants/nirgendwo", check=404), 404)
    usage = {u["slug"]: u for u in api_root.items("/usage")}
    assert usage["lauscha"]["users"] == 1 and set(usage) == {"lauscha", "platform", "sonneberg"}
    # The operator administers every tenant too.
    assert [u["login"] for u in api_root.items("/tenants/lauscha/users")] == ["anna@lauscha"]
