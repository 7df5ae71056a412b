"""Who is calling: Basic, a bearer app password, or the web session cookie with its CSRF token."""

from __future__ import annotations

from starlette.types import ASGIApp

from tests.api.support import Api, problem_of
from tests.common.factories import PASSWORD
from thvc.accounts.models import AppPassword, UserState
from thvc.accounts.services import Principal
from thvc.http.websession import COOKIE, CSRF_HEADER
from thvc.services import Services


def test_no_credentials_is_a_401_problem_with_a_basic_challenge(anonymous: Api) -> None:
    r = anonymous.get("/me", check=401)
    body = problem_of(r, 401, "not-authenticated")
    assert body["instance"] == "/api/v1/me"
    assert r.headers["www-authenticate"].startswith('Basic realm="ThVC"')


def test_basic_with_the_password(api: Api, anna: Principal) -> None:
    assert api.get("/me").json()["login"] == anna.login


def test_wrong_password_is_a_401(app: ASGIApp, anna: Principal) -> None:
    r = Api(app, anna.login, "wrong-password-here").get("/me", check=401)
    problem_of(r, 401, "not-authenticated")


def test_unknown_scheme_and_malformed_basic_are_401(anonymous: Api, anna: Principal) -> None:
    for value in ("Digest abc", "Basic", "Basic !!!notbase64", "Basic " + "YW5uYQ=="):
        r = anonymous.get("/me", headers={"Authorization": value}, check=401)
        problem_of(r, 401, "not-authenticated")


def test_repeated_failures_are_throttled_with_retry_after(app: ASGIApp, anna: Principal) -> None:
    wrong = Api(app, anna.login, "not-the-password")
    for _ in range(5):
        wrong.get("/me", check=401)
    r = wrong.get("/me", check=429)
    body = problem_of(r, 429, "too-many-failed-logins")
    assert int(r.headers["retry-after"]) >= 1
    assert body["retry_after"] == int(r.headers["retry-after"])


def test_an_app_password_works_with_basic_and_as_bearer(
    app: ASGIApp, api: Api, anna: Principal, svc: Services
) -> None:
    token = api.post("/me/app-passwords", json={"name": "backup"}, check=201).json()["token"]
    assert Api(app, anna.login, token).get("/me").json()["login"] == anna.login
    bearer = Api(app, headers={"Authorization": f"Bearer {token}"})
    assert bearer.get("/me").json()["login"] == anna.login
    with svc.db.read() as s:
        used = s.query(AppPassword.last_used_at).filter(AppPassword.name == "backup").scalar()
    assert used is not None
    # Revoked: the token opens nothing any more.
    api.delete("/me/app-passwords/backup", check=204)
    problem_of(bearer.get("/me", check=401), 401, "not-authenticated")


def test_a_bearer_token_of_a_disabled_account_is_refused(
    app: ASGIApp, api: Api, anna: Principal, svc: Services
) -> None:
    token = api.post("/me/app-passwords", json={"name": "ci"}, check=201).json()["token"]
    svc.accounts.set_state(anna.login, UserState.DISABLED)
    r = Api(app, headers={"Authorization": f"Bearer {token}"}).get("/me", check=401)
    assert "disabled" in problem_of(r, 401)["detail"]


def test_unknown_bearer_tokens_are_throttled_per_address(anonymous: Api) -> None:
    for _ in range(5):
        anonymous.get("/me", headers={"Authorization": "Bearer aaaaa-bbbbb"}, check=401)
    problem_of(
        anonymous.get("/me", headers={"Authorization": "Bearer aaaaa-bbbbb"}, check=429), 429
    )


def _session(svc: Services, login: str) -> tuple[str, str]:
    started = svc.sessions.login(login, PASSWORD)
    return started.token, svc.sessions.csrf_for(started.token)


def test_the_session_cookie_reads_without_a_csrf_token(
    app: ASGIApp, anna: Principal, svc: Services
) -> None:
    token, _ = _session(svc, anna.login)
    browser = Api(app)
    browser.client.cookies.set(COOKIE, token)
    assert browser.get("/me").json()["login"] == anna.login


def test_the_session_cookie_changes_only_with_its_csrf_token(
    app: ASGIApp, anna: Principal, svc: Services
) -> None:
    token, csrf = _session(svc, anna.login)
    browser = Api(app)
    browser.client.cookies.set(COOKIE, token)
    r = browser.post("/files/folders", json={"path": "/Neu"}, check=403)
    problem_of(r, 403, "csrf-token-missing")
    r = browser.post(
        "/files/folders", json={"path": "/Neu"}, headers={CSRF_HEADER: "x" + csrf}, check=403
    )
    problem_of(r, 403, "csrf-token-missing")
    browser.post("/files/folders", json={"path": "/Neu"}, headers={CSRF_HEADER: csrf}, check=201)


def test_an_ended_session_is_a_401(app: ASGIApp, anna: Principal, svc: Services) -> None:
    token, _ = _session(svc, anna.login)
    svc.sessions.logout(token)
    browser = Api(app)
    browser.client.cookies.set(COOKIE, token)
    problem_of(browser.get("/me", check=401), 401, "not-authenticated")


def test_basic_needs_no_csrf_token_and_wins_over_the_cookie(
    app: ASGIApp, api: Api, anna: Principal, ben: Principal, svc: Services
) -> None:
    token, _ = _session(svc, ben.login)
    api.client.cookies.set(COOKIE, token)
    assert api.get("/me").json()["login"] == anna.login
    api.post("/files/folders", json={"path": "/Neu"}, check=201)
