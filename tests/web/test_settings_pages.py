"""``/settings``: language, password, two-step log-in, app passwords, sessions."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.common import factories
from tests.web.conftest import TestClient
from tests.web.test_login import (  # noqa: F401 (frozen: a fixture)
    assert_safe_page,
    code_at,
    frozen,
    log_in,
    logged_in,
)
from thvc.accounts.services import Principal
from thvc.accounts.sessions import SessionExpired
from thvc.errors import NotAuthenticated
from thvc.http.websession import COOKIE
from thvc.services import Services

PW = factories.PASSWORD
NEW_PW = "a new and long password"


def page_csrf(response: httpx.Response) -> str:
    found = re.search(r'<body data-csrf="([^"]+)"', response.text)
    assert found, f"no CSRF token on the page:\n{response.text[:1000]}"
    return found.group(1)


def post(client: TestClient, url: str, **fields: str) -> httpx.Response:
    """A form sent from the settings page, with the page's CSRF token."""
    token = page_csrf(client.get("/settings"))
    return client.post(url, data={"csrf": token, **fields})


def alert_text(response: httpx.Response) -> str:
    found = re.search(r'role="alert">(.*?)</div>\s*</div>', response.text, re.S)
    assert found, "no alert on the page"
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


@pytest.fixture
def client_anna(client: TestClient, anna: Principal) -> TestClient:
    assert log_in(client).status_code == 303
    return client


def test_settings_need_a_log_in(client: TestClient) -> None:
    away = client.get("/settings")
    assert away.status_code == 303
    assert away.headers["location"] == "/login?next=%2Fsettings"
    refused = client.post("/settings/language", data={"language": "en"})
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_page_shows_every_section(client_anna: TestClient, lang: str) -> None:
    page = client_anna.get(f"/settings?lang={lang}")
    assert page.status_code == 200
    assert_safe_page(page)
    assert f'<html lang="{lang}">' in page.text
    for anchor in ("profile", "language", "password", "totp", "apps", "sessions"):
        assert f'id="{anchor}"' in page.text
    assert "anna@lauscha" in page.text
    assert ("Sitzungen" if lang == "de" else "Sessions") in page.text
    assert "<caption" in page.text
    # Every field has its label.
    for field in re.findall(r'<input[^>]+id="([^"]+)"', page.text):
        assert f'for="{field}"' in page.text, field


def test_every_form_needs_the_csrf_token(client_anna: TestClient) -> None:
    for url in (
        "/settings/language",
        "/settings/password",
        "/settings/totp/begin",
        "/settings/totp/confirm",
        "/settings/totp/disable",
        "/settings/app-passwords",
        "/settings/app-passwords/revoke",
        "/settings/sessions/revoke",
    ):
        refused = client_anna.post(url, data={"csrf": "forged", "language": "en", "name": "x"})
        assert refused.status_code == 403, url
        assert_safe_page(refused)


# -- language -------------------------------------------------------------------------


def test_the_language_is_kept_with_the_account(
    client_anna: TestClient, svc: Services, anna: Principal
) -> None:
    done = post(client_anna, "/settings/language", language="en")
    assert done.status_code == 303
    assert done.headers["location"] == "/settings?done=language#language"
    page = client_anna.get(done.headers["location"])
    assert '<html lang="en">' in page.text
    assert "The language was saved." in page.text and 'role="status"' in page.text
    # Also when the browser asks for German.
    assert (
        '<html lang="en">' in client_anna.get("/settings", headers={"accept-language": "de"}).text
    )
    assert post(client_anna, "/settings/language", language="").status_code == 303
    assert '<html lang="de">' in client_anna.get("/settings").text
    assert post(client_anna, "/settings/language", language="fr").status_code == 400


def test_the_display_name_is_changed_and_shown(client_anna: TestClient) -> None:
    done = post(client_anna, "/settings/name", display_name="Anna Schmidt")
    assert done.status_code == 303 and done.headers["location"] == "/settings?done=name#profile"
    page = client_anna.get(done.headers["location"])
    assert "Ihr Name wurde gespeichert." in page.text
    assert 'value="Anna Schmidt"' in page.text
    assert "Anna Schmidt <span" in page.text  # the header shows it at once
    assert post(client_anna, "/settings/name", display_name="x" * 300).status_code == 400
    assert client_anna.post("/settings/name", data={"display_name": "Evil"}).status_code == 403


# -- password -------------------------------------------------------------------------


def test_changing_the_password_ends_the_other_sessions(
    client_anna: TestClient, svc: Services, anna: Principal
) -> None:
    elsewhere = svc.sessions.login("anna@lauscha", PW).token
    done = post(client_anna, "/settings/password", current=PW, new=NEW_PW, repeat=NEW_PW)
    assert done.status_code == 303
    assert done.headers["location"] == "/settings?done=password#password"
    assert "sessions were ended" in client_anna.get("/settings?done=password&lang=en").text
    assert logged_in(client_anna)
    with pytest.raises(SessionExpired):
        svc.sessions.resume(elsewhere)
    with pytest.raises(NotAuthenticated):
        svc.sessions.login("anna@lauscha", PW)
    svc.sessions.login("anna@lauscha", NEW_PW)


@pytest.mark.parametrize(
    ("current", "new", "repeat", "status", "says"),
    [
        (PW, NEW_PW, NEW_PW + "x", 400, "differ"),
        (PW, "short", "short", 400, "too short"),
        ("not the password", NEW_PW, NEW_PW, 401, "current password is wrong"),
    ],
)
def test_a_refused_password_change_says_why(
    client_anna: TestClient,
    svc: Services,
    current: str,
    new: str,
    repeat: str,
    status: int,
    says: str,
) -> None:
    token = page_csrf(client_anna.get("/settings"))
    refused = client_anna.post(
        "/settings/password?lang=en",
        data={"csrf": token, "current": current, "new": new, "repeat": repeat},
    )
    assert refused.status_code == status
    assert says in alert_text(refused)
    assert NEW_PW not in refused.text and current not in refused.text.replace(PW + "x", "")
    svc.sessions.login("anna@lauscha", PW)  # unchanged


def test_guessing_the_current_password_is_throttled(client_anna: TestClient, svc: Services) -> None:
    token = page_csrf(client_anna.get("/settings"))
    statuses = [
        client_anna.post(
            "/settings/password",
            data={"csrf": token, "current": f"guess {i}", "new": NEW_PW, "repeat": NEW_PW},
        ).status_code
        for i in range(svc.settings.login_free_failures + 1)
    ]
    assert statuses[0] == 401 and statuses[-1] == 429


# -- two-step log-in ------------------------------------------------------------------


def enrol_in_page(client: TestClient) -> str:
    """Set up TOTP through the page; returns the secret the page shows."""
    begun = post(client, "/settings/totp/begin")
    assert begun.status_code == 200
    assert_safe_page(begun)
    assert '<svg role="img" aria-label=' in begun.text
    found = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', begun.text)
    assert found, "no secret on the page"
    secret = found.group(1).replace(" ", "")
    wrong = post(client, "/settings/totp/confirm", code="000000")
    if code_at(secret, time.time()) != "000000":
        assert wrong.status_code == 400 and 'role="alert"' in wrong.text
    done = post(client, "/settings/totp/confirm", code=code_at(secret, time.time()))
    assert done.status_code == 303 and done.headers["location"].endswith("#totp")
    return secret


def test_two_step_log_in_is_set_up_and_turned_off(
    client_anna: TestClient, svc: Services, anna: Principal
) -> None:
    secret = enrol_in_page(client_anna)
    assert svc.totp.enabled(anna.user_id)
    assert svc.sessions.login("anna@lauscha", PW).second_factor_due
    page = client_anna.get("/settings")
    assert "/settings/totp/disable" in page.text and secret not in page.text.replace(" ", "")
    wrong = post(client_anna, "/settings/totp/disable", code=code_at(secret, time.time()))
    assert wrong.status_code == 400  # that code was used up confirming
    assert svc.totp.enabled(anna.user_id)
    off = post(client_anna, "/settings/totp/disable", code=code_at(secret, time.time() + 30))
    assert off.status_code == 303
    assert not svc.totp.enabled(anna.user_id)


def test_the_qr_code_holds_the_otpauth_uri(client_anna: TestClient) -> None:
    begun = post(client_anna, "/settings/totp/begin")
    svg = begun.text.split('<figure class="qr">')[1].split("</svg>")[0]
    assert svg.count("<path") >= 1 and "style=" not in svg and "<script" not in svg


# -- app passwords --------------------------------------------------------------------


def test_an_app_password_is_shown_once_and_can_be_revoked(
    client_anna: TestClient, svc: Services
) -> None:
    made = post(client_anna, "/settings/app-passwords", name="Laptop office")
    assert made.status_code == 200
    found = re.search(r'<code id="new-app-password">([^<]+)</code>', made.text)
    assert found
    token = found.group(1)
    assert svc.accounts.authenticate("anna@lauscha", token, client=None).login == "anna@lauscha"
    later = client_anna.get("/settings")
    assert token not in later.text and "Laptop office" in later.text
    assert "…" + token[-4:] in later.text
    again = post(client_anna, "/settings/app-passwords", name="Laptop office")
    assert again.status_code == 409 and 'role="alert"' in again.text
    assert post(client_anna, "/settings/app-passwords", name=" ").status_code == 400
    gone = post(client_anna, "/settings/app-passwords/revoke", name="Laptop office")
    assert gone.status_code == 303
    svc.accounts.clean_credential_cache()
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("anna@lauscha", token, client=None)
    assert post(client_anna, "/settings/app-passwords/revoke", name="nope").status_code == 404


# -- sessions -------------------------------------------------------------------------


def test_sessions_are_listed_and_others_ended(
    client_anna: TestClient, svc: Services, anna: Principal
) -> None:
    other = svc.sessions.login("anna@lauscha", PW, user_agent="Other browser").token
    third = svc.sessions.login("anna@lauscha", PW, user_agent="Third browser").token
    page = client_anna.get("/settings?lang=en")
    assert "Other browser" in page.text and "this session" in page.text
    ids = [int(x) for x in re.findall(r'name="session" value="(\d+)"', page.text)]
    assert len(ids) == 2  # no button for the session in use
    other_id = svc.sessions.resume(other).id
    assert post(client_anna, "/settings/sessions/revoke", session=str(other_id)).status_code == 303
    with pytest.raises(SessionExpired):
        svc.sessions.resume(other)
    svc.sessions.resume(third)
    assert post(client_anna, "/settings/sessions/revoke", all="others").status_code == 303
    with pytest.raises(SessionExpired):
        svc.sessions.resume(third)
    assert logged_in(client_anna)


def test_the_current_session_or_anothers_cannot_be_revoked_here(
    client_anna: TestClient, svc: Services
) -> None:
    mine = svc.sessions.resume(client_anna.cookies[COOKIE]).id
    assert post(client_anna, "/settings/sessions/revoke", session=str(mine)).status_code == 400
    factories.user(svc, "bert@lauscha")
    bert = svc.sessions.login("bert@lauscha", PW).token
    bert_id = svc.sessions.resume(bert).id
    assert post(client_anna, "/settings/sessions/revoke", session=str(bert_id)).status_code == 404
    svc.sessions.resume(bert)
    assert post(client_anna, "/settings/sessions/revoke", session="x").status_code == 400
