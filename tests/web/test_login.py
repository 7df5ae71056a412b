"""The log-in pages: password, TOTP code, cookies, CSRF, throttling, log-out, redirects."""

from __future__ import annotations

import base64
import re
import time

import httpx
import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from tests.common import factories
from tests.web.conftest import TestClient
from tests.web.support import csrf_of
from thvc.accounts import services as account_services
from thvc.accounts.services import Principal
from thvc.app import create_app
from thvc.db.types import utcnow
from thvc.http.websession import COOKIE
from thvc.services import Services
from thvc.settings import Settings

PW = factories.PASSWORD
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throttle's clock stands still: a delay does not run out while a test is slow."""
    fixed = utcnow()
    monkeypatch.setattr(account_services, "utcnow", lambda: fixed)


def code_at(secret: str, at: float) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(at).decode()


def log_in(
    client: TestClient, login: str = "anna@lauscha", password: str = PW, **extra: str
) -> httpx.Response:
    form = client.get("/login")
    assert form.status_code == 200
    return client.post(
        "/login", data={"csrf": csrf_of(form), "login": login, "password": password, **extra}
    )


def session_cookie(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(COOKIE + "="):
            return header
    raise AssertionError(f"no {COOKIE} cookie set: {response.headers}")


def cookie_value(header: str) -> str:
    return header.split(";")[0].split("=", 1)[1]


def logged_in(client: TestClient) -> bool:
    home = client.get("/")
    assert home.status_code == 303
    return bool(home.headers["location"] == "/files")


def assert_safe_page(response: httpx.Response) -> None:
    """The security headers, and nothing inline that the CSP would block."""
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "no-store" in response.headers["cache-control"]
    html = response.text
    assert not INLINE_SCRIPT.search(html), "inline <script>"
    assert "<style" not in html and "style=" not in html, "inline style"
    assert not EVENT_HANDLER.search(html), "on*= event handler"


# -- the form ---------------------------------------------------------------------


def test_the_login_page_has_a_labelled_form_and_a_form_token(client: TestClient) -> None:
    page = client.get("/login", headers={"accept-language": "de"})
    assert page.status_code == 200
    assert_safe_page(page)
    assert '<html lang="de">' in page.text
    assert 'for="login"' in page.text and 'for="password"' in page.text
    assert 'autocomplete="current-password"' in page.text
    assert csrf_of(page)
    pre = next(h for h in page.headers.get_list("set-cookie") if h.startswith("thvc_pre="))
    assert "httponly" in pre.lower() and "samesite=strict" in pre.lower()
    english = client.get("/login?lang=en")
    assert '<html lang="en">' in english.text and "Login name" in english.text
    assert "Anmeldename" in page.text or "Anmelden" in page.text


def test_logging_in_sets_a_safe_session_cookie(client: TestClient, anna: Principal) -> None:
    done = log_in(client, next="/files/Akten")
    assert done.status_code == 303
    assert done.headers["location"] == "/files/Akten"
    header = session_cookie(done).lower()
    assert "httponly" in header and "samesite=lax" in header and "path=/" in header
    assert "secure" not in header  # served over http here
    assert logged_in(client)


def test_the_cookie_is_secure_when_served_over_https(
    settings: Settings, svc: Services, anna: Principal
) -> None:
    secure = settings.model_copy(update={"base_url": "https://cloud.example.org"})
    app = create_app(secure, svc)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        done = log_in(c)
    assert done.status_code == 303
    assert "secure" in session_cookie(done).lower()


def test_every_log_in_gets_a_new_session_id(
    client: TestClient, svc: Services, anna: Principal
) -> None:
    # A token planted before the log-in (session fixation) is not the one after it.
    client.cookies.set(COOKIE, "planted-by-someone-else-0123456789")
    first = cookie_value(session_cookie(log_in(client)))
    assert first != "planted-by-someone-else-0123456789"
    client.cookies.clear()
    second = cookie_value(session_cookie(log_in(client)))
    assert first != second
    svc.sessions.resume(first)
    svc.sessions.resume(second)


def test_a_form_without_its_token_is_refused(client: TestClient, anna: Principal) -> None:
    # No pre-cookie at all (another site's form posting here).
    bare = client.post("/login", data={"login": "anna@lauscha", "password": PW, "csrf": "x" * 64})
    assert bare.status_code == 403
    assert COOKIE not in bare.headers.get("set-cookie", "")
    assert 'role="alert"' in bare.text
    # The pre-cookie, but not the token that belongs to it.
    client.get("/login")
    forged = client.post("/login", data={"login": "anna@lauscha", "password": PW, "csrf": "0" * 64})
    assert forged.status_code == 403
    assert not logged_in(client)
    # The page it answers with has a fresh, good token: trying again works.
    again = client.post(
        "/login", data={"login": "anna@lauscha", "password": PW, "csrf": csrf_of(forged)}
    )
    assert again.status_code == 303


def test_a_wrong_password_says_so_with_401(client: TestClient, anna: Principal) -> None:
    wrong = log_in(client, password="not the password", next="/spaces")
    assert wrong.status_code == 401
    assert_safe_page(wrong)
    assert 'role="alert"' in wrong.text
    assert "Passwort" in wrong.text  # German by default
    # The login name is kept, the password is not, and the target survives.
    assert 'value="anna@lauscha"' in wrong.text and "not the password" not in wrong.text
    assert 'name="next" value="/spaces"' in wrong.text
    assert COOKIE + "=" not in wrong.headers.get("set-cookie", "")
    unknown = log_in(client, login="nobody@lauscha")
    assert unknown.status_code == 401


def test_too_many_wrong_passwords_answer_429_with_retry_after(
    client: TestClient, svc: Services, anna: Principal, frozen: None
) -> None:
    for _ in range(svc.settings.login_free_failures):
        assert log_in(client, password="not the password").status_code == 401
    paused = log_in(client)  # even the right password waits
    assert paused.status_code == 429
    seconds = int(paused.headers["retry-after"])
    assert seconds >= 1
    assert f"{seconds} Sekunden" in paused.text
    english = client.post(
        "/login?lang=en",
        data={"csrf": csrf_of(paused), "login": "anna@lauscha", "password": PW},
    )
    assert english.status_code == 429
    assert re.search(r"try again in \d+ seconds", english.text)
    assert not logged_in(client)


def test_with_totp_the_code_is_asked_for_next(
    client: TestClient, svc: Services, anna: Principal
) -> None:
    secret = svc.totp.begin(anna).secret
    svc.totp.confirm(anna, code_at(secret, time.time()))
    step1 = log_in(client, next="/trash")
    assert step1.status_code == 303
    assert step1.headers["location"] == "/login/code?next=%2Ftrash"
    half = cookie_value(session_cookie(step1))
    assert "max-age=600" in session_cookie(step1).lower()
    assert not logged_in(client)  # the password alone opens nothing
    form = client.get(step1.headers["location"])
    assert form.status_code == 200
    assert_safe_page(form)
    assert 'autocomplete="one-time-code"' in form.text and 'for="code"' in form.text
    token = csrf_of(form)
    wrong = client.post("/login/code", data={"csrf": token, "code": "000000x", "next": "/trash"})
    assert wrong.status_code == 401 and 'role="alert"' in wrong.text
    done = client.post(
        "/login/code",
        data={"csrf": token, "code": code_at(secret, time.time() + 30), "next": "/trash"},
    )
    assert done.status_code == 303 and done.headers["location"] == "/trash"
    full = cookie_value(session_cookie(done))
    assert full != half
    assert logged_in(client)
    # The half-open token is dead.
    client.cookies.set(COOKIE, half)
    assert not logged_in(client)


def test_the_code_form_needs_its_token_and_a_pending_log_in(
    client: TestClient, svc: Services, anna: Principal
) -> None:
    assert client.get("/login/code").status_code == 303  # nothing pending
    secret = svc.totp.begin(anna).secret
    svc.totp.confirm(anna, code_at(secret, time.time()))
    log_in(client)
    refused = client.post(
        "/login/code", data={"csrf": "0" * 64, "code": code_at(secret, time.time() + 30)}
    )
    assert refused.status_code == 403
    assert not logged_in(client)


def test_a_disabled_account_cannot_log_in(
    client: TestClient, svc: Services, anna: Principal
) -> None:
    from thvc.accounts.models import UserState

    svc.accounts.set_state("anna@lauscha", UserState.DISABLED)
    assert log_in(client).status_code == 401


# -- redirects --------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["//evil.example", "https://evil.example/", "/\\evil.example", "/\t/evil.example", "evil"],
)
def test_no_open_redirect_after_log_in(client: TestClient, anna: Principal, target: str) -> None:
    page = client.get("/login", params={"next": target})
    assert "evil" not in page.text.split('name="next"')[1].split(">")[0]
    done = log_in(client, next=target)
    assert done.status_code == 303
    assert done.headers["location"] == "/files"


def test_pages_send_visitors_to_the_log_in_with_their_target(client: TestClient) -> None:
    home = client.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/login"


def test_the_login_page_sends_a_logged_in_user_on(client: TestClient, anna: Principal) -> None:
    log_in(client)
    again = client.get("/login", params={"next": "/trash"})
    assert again.status_code == 303 and again.headers["location"] == "/trash"


# -- log-out ----------------------------------------------------------------------


@pytest.fixture
def session(client: TestClient, anna: Principal) -> str:
    return cookie_value(session_cookie(log_in(client)))


def logout_token(client: TestClient) -> str:
    page = client.get("/accessibility")
    assert page.status_code == 200
    found = re.search(r'<body data-csrf="([^"]+)"', page.text)
    assert found, "no CSRF token on a logged-in page"
    return found.group(1)


def test_logout_ends_the_session_for_good(client: TestClient, svc: Services, session: str) -> None:
    token = logout_token(client)
    out = client.post("/logout", data={"csrf": token})
    assert out.status_code == 303 and out.headers["location"].startswith("/login")
    cleared = session_cookie(out)
    assert cleared.startswith(f'{COOKIE}=""') or "max-age=0" in cleared.lower()
    assert not logged_in(client)
    # The old cookie, kept by someone, opens nothing either.
    client.cookies.set(COOKIE, session)
    assert not logged_in(client)


def test_logout_from_another_site_does_nothing(client: TestClient, session: str) -> None:
    out = client.post("/logout", data={"csrf": "forged"})
    assert out.status_code == 303
    assert logged_in(client)
    odd = client.post("/logout", content=b"{}", headers={"content-type": "application/json"})
    assert odd.status_code == 303
    assert logged_in(client)


def test_logged_in_pages_carry_the_security_headers(client: TestClient, session: str) -> None:
    page = client.get("/accessibility")
    assert_safe_page(page)
    assert "anna@lauscha" in page.text
    missing = client.get("/no/such/page")
    assert missing.status_code == 404
    assert_safe_page(missing)
