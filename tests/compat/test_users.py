"""/ocs/v{1,2}.php/cloud/user and /cloud/users/{id}: one's own account and quota."""

from __future__ import annotations

from typing import Any

import pytest

from tests.common import factories
from tests.compat.support import auth, ocs_json, ocs_xml
from thvc.accounts.services import Principal
from thvc.errors import TooManyFailedLogins
from thvc.services import Services


@pytest.mark.parametrize("version", [1, 2])
def test_current_user_unlimited(client: Any, anna: Principal, version: int) -> None:
    r = client.get(f"/ocs/v{version}.php/cloud/user?format=json", headers=auth(anna.login))
    assert r.status_code == 200
    meta, data = ocs_json(r)
    assert meta["status"] == "ok"
    assert data["id"] == "anna@lauscha"  # the name in /remote.php/dav/files/{id}/
    assert data["display-name"] == anna.display_name
    assert data["email"] is None
    assert data["quota"] == {"free": -3, "used": 0, "total": -3, "relative": 0, "quota": -3}


def test_current_user_with_quota_and_usage(client: Any, svc: Services) -> None:
    carla = factories.user(svc, "carla@lauscha", quota=1000)
    factories.put(svc, carla, "/a.txt", b"x" * 250)
    r = client.get("/ocs/v2.php/cloud/user?format=json", headers=auth(carla.login))
    _, data = ocs_json(r)
    assert data["quota"] == {
        "free": 750,
        "used": 250,
        "total": 1000,
        "relative": 25.0,
        "quota": 1000,
    }


def test_current_user_email(client: Any, svc: Services) -> None:
    factories.tenant(svc, "suhl")
    svc.accounts.create_user("dora@suhl", factories.PASSWORD, email="dora@suhl.example")
    r = client.get("/ocs/v2.php/cloud/user?format=json", headers=auth("dora@suhl"))
    _, data = ocs_json(r)
    assert data["email"] == "dora@suhl.example"


def test_current_user_xml(client: Any, anna: Principal) -> None:
    r = client.get("/ocs/v1.php/cloud/user", headers=auth(anna.login))
    meta, data = ocs_xml(r)
    assert meta.findtext("statuscode") == "100"
    assert data.findtext("id") == "anna@lauscha"
    assert data.findtext("quota/quota") == "-3"


@pytest.mark.parametrize("version", [1, 2])
def test_own_user_by_id(client: Any, anna: Principal, version: int) -> None:
    r = client.get(
        f"/ocs/v{version}.php/cloud/users/Anna@Lauscha?format=json", headers=auth(anna.login)
    )
    assert r.status_code == 200
    _, data = ocs_json(r)
    assert data["id"] == "anna@lauscha"
    assert "quota" in data


@pytest.mark.parametrize("other", ["ben@suhl", "nobody@lauscha"])
def test_another_user_is_not_found_v2(
    client: Any, anna: Principal, ben: Principal, other: str
) -> None:
    r = client.get(f"/ocs/v2.php/cloud/users/{other}?format=json", headers=auth(anna.login))
    assert r.status_code == 404
    meta, data = ocs_json(r)
    assert (meta["status"], meta["statuscode"]) == ("failure", 404)
    assert data == []


@pytest.mark.parametrize("other", ["ben@suhl", "nobody@lauscha"])
def test_another_user_is_998_in_v1(
    client: Any, anna: Principal, ben: Principal, other: str
) -> None:
    r = client.get(f"/ocs/v1.php/cloud/users/{other}", headers=auth(anna.login))
    # OCS v1 reports an endpoint's failure in the body, with HTTP 200, as Nextcloud does.
    assert r.status_code == 200
    meta, _ = ocs_xml(r)
    assert meta.findtext("status") == "failure"
    assert meta.findtext("statuscode") == "998"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/ocs/v1.php/cloud/user", 997),
        ("/ocs/v2.php/cloud/user", 401),
        ("/ocs/v1.php/cloud/users/anna@lauscha", 997),
        ("/ocs/v2.php/cloud/users/anna@lauscha", 401),
    ],
)
def test_no_credentials_401(client: Any, anna: Principal, path: str, code: int) -> None:
    r = client.get(path + "?format=json", headers={"OCS-APIRequest": "true"})
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"].startswith("Basic ")
    meta, _ = ocs_json(r)
    assert meta["statuscode"] == code


@pytest.mark.parametrize("header", ["Bearer abc", "Basic !!!", "Basic", "Basic bm8tY29sb24="])
def test_malformed_credentials_401(client: Any, anna: Principal, header: str) -> None:
    r = client.get("/ocs/v2.php/cloud/user?format=json", headers={"Authorization": header})
    assert r.status_code == 401


def test_an_app_password_works(client: Any, svc: Services, anna: Principal) -> None:
    token = svc.accounts.create_app_password(anna.login, "phone")
    r = client.get("/ocs/v2.php/cloud/user?format=json", headers=auth(anna.login, token))
    assert r.status_code == 200


def test_repeated_failures_get_429(client: Any, settings: Any, anna: Principal) -> None:
    for _ in range(settings.login_free_failures):
        client.get("/ocs/v2.php/cloud/user", headers=auth(anna.login, "wrong-password"))
    r = client.get("/ocs/v2.php/cloud/user", headers=auth(anna.login, factories.PASSWORD))
    assert r.status_code == 429


@pytest.mark.parametrize(("version", "code"), [(1, 429), (2, 429)])
def test_throttled_logins_get_429_with_retry_after(
    client: Any, svc: Services, monkeypatch: pytest.MonkeyPatch, version: int, code: int
) -> None:
    def throttled(login: str, secret: str, *, client: str | None) -> Principal:
        raise TooManyFailedLogins(42)

    monkeypatch.setattr(svc.accounts, "authenticate", throttled)
    r = client.get(f"/ocs/v{version}.php/cloud/user?format=json", headers=auth("anna@lauscha", "x"))
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "42"
    meta, _ = ocs_json(r)
    assert (meta["status"], meta["statuscode"]) == ("failure", code)
