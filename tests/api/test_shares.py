"""/shares and /links over the sharing core: given, received, changed, revoked; link URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.types import ASGIApp

from tests.api.support import Api, problem_of
from tests.common import factories
from thvc.accounts.services import Principal
from thvc.api.app import create_api
from thvc.services import Services
from thvc.settings import Settings


@pytest.fixture
def akten(svc: Services, anna: Principal) -> None:
    factories.mkdir(svc, anna, "/Akten")
    factories.put(svc, anna, "/Akten/Plan.pdf", b"%PDF plan")


@pytest.fixture
def dora(svc: Services, anna: Principal) -> Principal:
    """anna's colleague."""
    return factories.user(svc, "dora@lauscha")


@pytest.mark.usefixtures("akten")
def test_a_share_appears_in_the_recipients_root(api: Api, api_ben: Api, ben: Principal) -> None:
    share = api.post(
        "/shares",
        json={"path": "/Akten", "user": ben.login, "permissions": ["read", "update"]},
        check=201,
    ).json()
    assert share["recipient"] == ben.login and share["share_type"] == "user"
    assert share["permissions"] == ["read", "update"]
    assert share["state"] == "accepted" and share["type"] == "folder"
    assert api.get("/files/meta", params={"path": "/Akten"}).json()["shared_by_me"] == ["user"]
    mounted = api_ben.get("/files/meta", params={"path": "/Akten"}).json()
    assert mounted["origin"] == "shared-with-me" and mounted["is_mount"] is True
    assert mounted["owner"] == "anna@lauscha"
    assert [s["id"] for s in api_ben.get("/shares/received").json()["items"]] == [share["id"]]
    assert [s["id"] for s in api.get("/shares").json()["items"]] == [share["id"]]
    assert api.get("/shares", params={"path": "/Akten/Plan.pdf"}).json()["items"] == []


@pytest.mark.usefixtures("akten")
def test_a_share_is_changed_and_revoked(api: Api, api_ben: Api, ben: Principal) -> None:
    sid = api.post("/shares", json={"path": "/Akten", "user": ben.login}, check=201).json()["id"]
    later = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    changed = api.patch(
        f"/shares/{sid}", json={"expires_at": later, "note": "bis Freitag", "label": "Bau"}
    ).json()
    assert changed["note"] == "bis Freitag" and changed["expires_at"] is not None
    assert api.patch(f"/shares/{sid}", json={"label": "x"}).json()["expires_at"] is not None
    assert api.patch(f"/shares/{sid}", json={"expires_at": None}).json()["expires_at"] is None
    etag = api.get(f"/shares/{sid}").headers["etag"]
    api.get(f"/shares/{sid}", headers={"If-None-Match": etag}, check=304)
    # The recipient may see it, not change it.
    api_ben.get(f"/shares/{sid}")
    problem_of(api_ben.patch(f"/shares/{sid}", json={"note": "mine"}, check=404), 404)
    api.delete(f"/shares/{sid}", check=204)
    problem_of(api_ben.get("/files/meta", params={"path": "/Akten"}, check=404), 404)
    problem_of(api.get(f"/shares/{sid}", check=404), 404, "not-found")


@pytest.mark.usefixtures("akten")
def test_share_requests_are_checked(api: Api, ben: Principal) -> None:
    problem_of(api.post("/shares", json={"path": "/Akten"}, check=422), 422)
    problem_of(
        api.post("/shares", json={"path": "/Akten", "user": ben.login, "group": "g"}, check=422),
        422,
    )
    problem_of(
        api.post(
            "/shares",
            json={"path": "/Akten", "user": ben.login, "permissions": ["share"]},
            check=400,
        ),
        400,
    )
    problem_of(
        api.post("/shares", json={"path": "/", "user": ben.login}, check=403), 403, "forbidden"
    )
    problem_of(
        api.post("/shares", json={"path": "/Akten", "user": "nobody@nowhere"}, check=404), 404
    )
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    problem_of(
        api.post(
            "/shares", json={"path": "/Akten", "user": ben.login, "expires_at": past}, check=400
        ),
        400,
    )
    naive = datetime.now().replace(microsecond=0).isoformat()
    problem_of(
        api.post(
            "/shares", json={"path": "/Akten", "user": ben.login, "expires_at": naive}, check=422
        ),
        422,
    )
    api.post("/shares", json={"path": "/Akten", "user": ben.login}, check=201)
    problem_of(
        api.post("/shares", json={"path": "/Akten", "user": ben.login}, check=409),
        409,
        "already-exists",
    )


@pytest.mark.usefixtures("akten")
def test_pending_shares_are_accepted_or_declined(
    api: Api, api_ben: Api, ben: Principal, svc: Services
) -> None:
    svc.tenants.set_policy("suhl", auto_accept=False)
    sid = api.post("/shares", json={"path": "/Akten", "user": ben.login}, check=201).json()["id"]
    assert api_ben.get("/shares/received").json()["items"] == []
    pending = api_ben.get("/shares/received", params={"state": "pending"}).json()["items"]
    assert [s["id"] for s in pending] == [sid]
    problem_of(api.post(f"/shares/{sid}/accept", check=404), 404)  # not anna's to accept
    assert api_ben.post(f"/shares/{sid}/accept").json()["state"] == "accepted"
    api_ben.get("/files/meta", params={"path": "/Akten"})
    assert api_ben.post(f"/shares/{sid}/decline").json()["state"] == "declined"
    api_ben.get("/files/meta", params={"path": "/Akten"}, check=404)


@pytest.mark.usefixtures("akten")
def test_shares_are_invisible_to_others(
    api: Api, app: ASGIApp, ben: Principal, dora: Principal, api_ben: Api
) -> None:
    sid = api.post("/shares", json={"path": "/Akten", "user": dora.login}, check=201).json()["id"]
    for who in (api_ben, Api(app, dora.login)):
        problem_of(who.delete(f"/shares/{sid + 1000}", check=404), 404)
    problem_of(api_ben.get(f"/shares/{sid}", check=404), 404)
    problem_of(api_ben.delete(f"/shares/{sid}", check=404), 404)
    problem_of(api_ben.post(f"/shares/{sid}/accept", check=404), 404)


@pytest.mark.usefixtures("akten")
def test_links_are_made_changed_and_revoked(api: Api, api_ben: Api, settings: Settings) -> None:
    link = api.post(
        "/links", json={"path": "/Akten", "kind": "read", "max_downloads": 3}, check=201
    ).json()
    # No THVC_BASE_URL in the tests' settings: the address the request came to.
    assert link["url"] == f"http://testserver/s/{link['token']}"
    assert link["permissions"] == ["read", "share"] and link["has_password"] is False
    assert "password" not in link
    assert api.get("/files/meta", params={"path": "/Akten"}).json()["shared_by_me"] == ["link"]
    changed = api.patch(
        f"/links/{link['id']}", json={"password": "ein-geheimes-wort", "kind": "drop"}
    ).json()
    assert changed["has_password"] is True and changed["kind"] == "drop"
    assert changed["max_downloads"] == 3
    changed = api.patch(
        f"/links/{link['id']}", json={"password": None, "max_downloads": None}
    ).json()
    assert changed["has_password"] is False and changed["max_downloads"] is None
    etag = api.get(f"/links/{link['id']}").headers["etag"]
    api.get(f"/links/{link['id']}", headers={"If-None-Match": etag}, check=304)
    assert [li["id"] for li in api.get("/links").json()["items"]] == [link["id"]]
    problem_of(api_ben.get(f"/links/{link['id']}", check=404), 404)
    problem_of(api_ben.delete(f"/links/{link['id']}", check=404), 404)
    api.delete(f"/links/{link['id']}", check=204)
    problem_of(api.get(f"/links/{link['id']}", check=404), 404)


@pytest.mark.usefixtures("akten")
def test_the_link_policy_is_the_cores(api: Api, svc: Services) -> None:
    problem_of(api.post("/links", json={"path": "/Akten/Plan.pdf", "kind": "drop"}, check=400), 400)
    svc.tenants.set_policy("lauscha", links=False)
    r = api.post("/links", json={"path": "/Akten"}, check=403)
    assert "policy" in problem_of(r, 403)["detail"]


@pytest.mark.usefixtures("akten")
def test_link_urls_use_the_configured_base_url(
    settings: Settings, svc: Services, anna: Principal
) -> None:
    configured = settings.model_copy(update={"base_url": "https://cloud.example"})
    configured.model_fields_set.add("base_url")
    api = Api(create_api(configured, svc), anna.login)
    link = api.post("/links", json={"path": "/Akten"}, check=201).json()
    assert link["url"] == f"https://cloud.example/s/{link['token']}"
