"""HTTP Basic authentication and isolation between users and tenants (§4, §5, §8)."""

from __future__ import annotations

import base64

from starlette.types import ASGIApp

from tests.common import factories
from tests.common.dav import DavClient, basic
from thvc.accounts.models import UserState
from thvc.accounts.services import Principal
from thvc.services import Services


def _anon(app: ASGIApp, login: str = "anna@lauscha") -> DavClient:
    return DavClient(app, login, password=None)


def test_no_credentials_get_401_with_a_basic_challenge(app: ASGIApp, anna: Principal) -> None:
    for method in ("PROPFIND", "GET", "PUT", "OPTIONS", "DELETE", "MKCOL", "MOVE", "PROPPATCH"):
        r = _anon(app).request(method, "/", check=401)
        assert r.headers["WWW-Authenticate"].startswith("Basic "), method
        assert 'realm="' in r.headers["WWW-Authenticate"], method


def test_a_wrong_password_gets_401(app: ASGIApp, anna: Principal) -> None:
    r = DavClient(app, anna.login, "not-the-password").request("PROPFIND", "/", check=401)
    assert r.headers["WWW-Authenticate"].startswith("Basic ")


def test_an_unknown_user_gets_the_same_401(app: ASGIApp, anna: Principal) -> None:
    wrong = DavClient(app, anna.login, "not-the-password").request("PROPFIND", "/", check=401)
    unknown = DavClient(app, "nobody@lauscha", "not-the-password").request(
        "PROPFIND", "/", check=401
    )
    assert unknown.text == wrong.text


MALFORMED = [
    "Basic",
    "Basic !!!notbase64!!!",
    "Basic " + base64.b64encode(b"no-colon-here").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
    "Basic " + base64.b64encode(b"anna@lauscha:").decode() + "=====",
    "Bearer abc",
    "basic",
    "",
]


def test_malformed_credentials_get_401(app: ASGIApp, anna: Principal) -> None:
    for header in MALFORMED:
        r = _anon(app).request("PROPFIND", "/", headers={"Authorization": header}, check=401)
        assert "WWW-Authenticate" in r.headers, header


def test_the_scheme_is_case_insensitive(app: ASGIApp, anna: Principal) -> None:
    value = basic(anna.login, factories.PASSWORD).replace("Basic", "bAsIc")
    _anon(app).request("PROPFIND", "/", headers={"Authorization": value, "Depth": "0"}, check=207)


def test_the_login_is_case_insensitive(app: ASGIApp, anna: Principal) -> None:
    DavClient(app, "Anna@Lauscha").request(
        "PROPFIND", "/dav/files/anna@lauscha/", headers={"Depth": "0"}, check=207
    )


def test_an_app_password_works_until_revoked(app: ASGIApp, svc: Services, anna: Principal) -> None:
    token = svc.accounts.create_app_password(anna.login, "sync")
    client = DavClient(app, anna.login, token)
    client.propfind("/", depth="0")
    svc.accounts.revoke_app_password(anna.login, "sync")
    client.propfind("/", depth="0", check=401)


def test_a_disabled_user_is_refused_at_once(
    app: ASGIApp, svc: Services, anna: Principal, dav: DavClient
) -> None:
    dav.propfind("/", depth="0")
    svc.accounts.set_state(anna.login, UserState.DISABLED)
    dav.propfind("/", depth="0", check=401)


def test_a_suspended_tenant_is_refused_at_once(
    svc: Services, anna: Principal, dav: DavClient
) -> None:
    dav.propfind("/", depth="0")  # now in the credential cache
    svc.tenants.suspend("lauscha")
    dav.propfind("/", depth="0", check=401)
    svc.tenants.resume("lauscha")
    dav.propfind("/", depth="0")


def test_repeated_failures_are_throttled_with_retry_after(
    app: ASGIApp, anna: Principal, svc: Services
) -> None:
    bad = DavClient(app, anna.login, "not-the-password")
    for _ in range(svc.settings.login_free_failures):
        bad.request("PROPFIND", "/", check=401)
    r = bad.request("PROPFIND", "/", check=429)
    assert int(r.headers["Retry-After"]) >= 1
    # The right password does not get through a throttled account either.
    DavClient(app, anna.login).request("PROPFIND", "/", check=429)


# -- isolation -------------------------------------------------------------------------


def test_another_users_tree_is_404(dav: DavClient, dav_ben: DavClient) -> None:
    dav.put("/secret.txt", b"anna's", check=201)
    dav.mkcol("/folder")
    for path in (
        "/dav/files/anna@lauscha/",
        "/dav/files/anna@lauscha/secret.txt",
        "/dav/files/anna@lauscha/folder/",
        "/dav/files/anna@lauscha/nothing",
    ):
        dav_ben.request("PROPFIND", path, headers={"Depth": "0"}, check=404)
        dav_ben.request("GET", path, check=404)
    dav_ben.request("PUT", "/dav/files/anna@lauscha/new.txt", b"x", check=404)
    dav_ben.request("DELETE", "/dav/files/anna@lauscha/secret.txt", check=404)
    dav_ben.request("MKCOL", "/dav/files/anna@lauscha/x", check=404)
    dav_ben.request(
        "MOVE",
        "/dav/files/anna@lauscha/secret.txt",
        headers={"Destination": "/dav/files/ben@suhl/stolen.txt"},
        check=404,
    )
    dav_ben.request(
        "COPY",
        "/dav/files/anna@lauscha/secret.txt",
        headers={"Destination": "/dav/files/ben@suhl/stolen.txt"},
        check=404,
    )
    assert dav.get("/secret.txt").content == b"anna's"
    assert dav.children("/") == {"secret.txt", "folder"}
    assert dav_ben.children("/") == set()


def test_a_user_of_the_same_tenant_cannot_see_anna_either(
    app: ASGIApp, svc: Services, dav: DavClient
) -> None:
    dav.put("/secret.txt", b"anna's", check=201)
    carl = factories.user(svc, "carl@lauscha")
    DavClient(app, carl.login).request("GET", "/dav/files/anna@lauscha/secret.txt", check=404)


def test_an_unknown_login_in_the_url_is_404_like_an_existing_one(
    dav_ben: DavClient, anna: Principal
) -> None:
    a = dav_ben.request("PROPFIND", "/dav/files/anna@lauscha/", headers={"Depth": "0"}, check=404)
    b = dav_ben.request("PROPFIND", "/dav/files/nobody@nowhere/", headers={"Depth": "0"}, check=404)
    assert a.text == b.text


def test_an_overlong_login_name_is_refused_with_401(app: ASGIApp, anna: Principal) -> None:
    DavClient(app, "x" * 300 + "@lauscha", "whatever-password").request("PROPFIND", "/", check=401)


def test_a_nul_in_the_login_name_is_refused_with_401(app: ASGIApp, anna: Principal) -> None:
    header = "Basic " + base64.b64encode(b"an\x00na@lauscha:whatever-password").decode()
    _anon(app).request("PROPFIND", "/", headers={"Authorization": header}, check=401)
