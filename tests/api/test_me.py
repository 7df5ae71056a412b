"""/me: the account, the language, the password, app passwords."""

from __future__ import annotations

import pytest
from starlette.types import ASGIApp

from tests.api.support import Api, problem_of
from tests.common import factories
from tests.common.factories import PASSWORD
from thvc.accounts.services import Principal
from thvc.errors import NotAuthenticated
from thvc.services import Services


def test_me_describes_the_account_and_its_storage(api: Api, anna: Principal, svc: Services) -> None:
    factories.put(svc, anna, "/a.txt", b"12345")
    me = api.get("/me").json()
    assert me["login"] == "anna@lauscha"
    assert me["tenant"] == "lauscha"
    assert me["role"] == "member"
    assert me["used_bytes"] == 5
    assert me["available_bytes"] is None
    assert me["language"] is None


def test_me_has_an_etag_and_answers_304(api: Api) -> None:
    r = api.get("/me")
    etag = r.headers["etag"]
    r2 = api.get("/me", headers={"If-None-Match": etag}, check=304)
    assert r2.content == b"" and r2.headers["etag"] == etag
    api.patch("/me", json={"language": "en"})
    assert api.get("/me", headers={"If-None-Match": etag}).headers["etag"] != etag


def test_the_language_can_be_set_and_unset(api: Api) -> None:
    assert api.patch("/me", json={"language": "en"}).json()["language"] == "en"
    assert api.patch("/me", json={}).json()["language"] == "en"
    assert api.patch("/me", json={"language": None}).json()["language"] is None
    problem_of(api.patch("/me", json={"language": "fr"}, check=422), 422)


def test_the_display_name_is_the_users_to_change(api: Api) -> None:
    assert api.patch("/me", json={"display_name": "Anna  Schmidt"}).json()["display_name"] == (
        "Anna Schmidt"
    )
    assert api.get("/me").json()["display_name"] == "Anna Schmidt"
    problem_of(api.patch("/me", json={"display_name": "x" * 201}, check=422), 422)
    problem_of(api.patch("/me", json={"display_name": "a\nb"}, check=422), 422)


def test_password_change_checks_the_current_password(
    app: ASGIApp, api: Api, anna: Principal, svc: Services
) -> None:
    browser = svc.sessions.login(anna.login, PASSWORD).token
    r = api.post("/me/password", json={"current": "wrong", "new": "ein-neues-passwort"}, check=403)
    problem_of(r, 403, "wrong-password")
    r = api.post("/me/password", json={"current": PASSWORD, "new": "kurz"}, check=400)
    problem_of(r, 400)
    api.post("/me/password", json={"current": PASSWORD, "new": "ein-neues-passwort"}, check=204)
    Api(app, anna.login, PASSWORD).get("/me", check=401)
    Api(app, anna.login, "ein-neues-passwort").get("/me")
    # A browser left logged in somewhere is logged out by the change.
    with pytest.raises(NotAuthenticated):
        svc.sessions.resume(browser)


def test_app_passwords_are_listed_without_secrets(api: Api) -> None:
    created = api.post("/me/app-passwords", json={"name": "Laptop"}, check=201).json()
    assert created["hint"] == created["token"][-4:]
    problem_of(api.post("/me/app-passwords", json={"name": "Laptop"}, check=409), 409)
    listed = api.get("/me/app-passwords").json()
    assert listed["next_cursor"] is None
    assert [a["name"] for a in listed["items"]] == ["Laptop"]
    assert "token" not in listed["items"][0]
    assert listed["items"][0]["hint"] == created["hint"]
    api.delete("/me/app-passwords/Laptop", check=204)
    problem_of(api.delete("/me/app-passwords/Laptop", check=404), 404, "not-found")
