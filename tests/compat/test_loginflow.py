"""Login Flow v2: start, poll, the sign-in and grant pages, and collecting the app password once."""

from __future__ import annotations

import concurrent.futures
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from tests.common import factories
from tests.common.dav import basic
from tests.compat.support import Page
from thvc.accounts.loginflow import TICKET_LIFETIME, InvalidFormToken
from thvc.accounts.models import AppPassword, LoginFlow, UserState
from thvc.accounts.passwords import token_hash
from thvc.accounts.services import Principal
from thvc.audit import AuditEvent
from thvc.db.types import utcnow
from thvc.errors import TooManyFailedLogins
from thvc.services import Services
from thvc.settings import Settings

DESKTOP_UA = (
    "Mozilla/5.0 (Linux) mirall/3.7.3git (Nextcloud, debian-6.1.0 ClientArchitecture: x86_64)"
)


@dataclass
class Flow:
    poll_token: str
    poll_path: str
    login_path: str
    login_url: str


def start(client: Any, user_agent: str = DESKTOP_UA) -> Flow:
    r = client.post("/index.php/login/v2", headers={"User-Agent": user_agent})
    assert r.status_code == 200, r.text
    doc = r.json()
    assert set(doc) == {"poll", "login"}
    assert set(doc["poll"]) == {"token", "endpoint"}
    return Flow(
        doc["poll"]["token"],
        urlsplit(doc["poll"]["endpoint"]).path,
        urlsplit(doc["login"]).path,
        doc["login"],
    )


def poll(client: Any, flow: Flow) -> Any:
    # As the clients send it: a urlencoded form with the token.
    return client.post(flow.poll_path, data={"token": flow.poll_token})


def sign_in(client: Any, flow: Flow, login: str, password: str, **headers: str) -> Any:
    page = Page(client.get(flow.login_path, headers=headers).text)
    form = page.form
    assert form.method == "post"
    return client.post(
        form.action, data={**form.fields, "user": login, "password": password}, headers=headers
    )


def grant(client: Any, flow: Flow, login: str, decision: str = "grant") -> Any:
    r = sign_in(client, flow, login, factories.PASSWORD)
    assert r.status_code == 200, r.text
    form = Page(r.text).form
    assert decision in form.buttons["decision"]
    return client.post(form.action, data={**form.fields, "decision": decision})


def test_start_answers_as_nextcloud(client: Any, settings: Settings) -> None:
    r = client.post("/index.php/login/v2", headers={"User-Agent": DESKTOP_UA})
    doc = r.json()
    assert doc["poll"]["endpoint"] == settings.base_url + "/index.php/login/v2/poll"
    assert doc["login"].startswith(settings.base_url + "/index.php/login/v2/flow/")
    token = doc["login"].rsplit("/", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9]{128}", token)
    assert re.fullmatch(r"[A-Za-z0-9]{128}", doc["poll"]["token"])
    assert r.headers["Cache-Control"] == "no-store"


def test_full_round_trip(client: Any, svc: Services, anna: Principal) -> None:
    flow = start(client)
    r = poll(client, flow)
    assert r.status_code == 404
    assert r.json() == []

    page = Page(client.get(flow.login_path).text)
    assert "Nextcloud Desktop 3.7.3git" in page.all_text
    r = sign_in(client, flow, "anna@lauscha", factories.PASSWORD)
    assert r.status_code == 200
    grant_page = Page(r.text)
    assert "anna@lauscha" in grant_page.all_text
    assert "Nextcloud Desktop 3.7.3git" in grant_page.all_text
    assert poll(client, flow).status_code == 404  # signed in is not granted

    form = grant_page.form
    r = client.post(form.action, data={**form.fields, "decision": "grant"})
    assert r.status_code == 200
    assert "Fenster schließen" in Page(r.text).all_text

    r = poll(client, flow)
    assert r.status_code == 200
    creds = r.json()
    assert set(creds) == {"server", "loginName", "appPassword"}
    assert creds["server"] == svc.settings.base_url
    assert creds["loginName"] == "anna@lauscha"
    assert re.fullmatch(r"([A-Za-z0-9]{5}-){4}[A-Za-z0-9]{5}", creds["appPassword"])

    # The app password is a real one: the clients' next request is a PROPFIND with it.
    r = client.request(
        "PROPFIND",
        "/remote.php/dav/files/anna@lauscha/",
        headers={
            "Authorization": basic(creds["loginName"], creds["appPassword"]),
            "Depth": "0",
        },
    )
    assert r.status_code == 207
    names = [a.name for a in svc.accounts.list_app_passwords("anna@lauscha")]
    assert names == ["Nextcloud Desktop 3.7.3git"]

    # Collected once; then the flow is gone.
    assert poll(client, flow).status_code == 404
    with svc.db.read() as s:
        assert s.scalars(select(LoginFlow)).all() == []
    assert client.get(flow.login_path).status_code == 404


def test_nothing_secret_reaches_the_audit_log(client: Any, svc: Services, anna: Principal) -> None:
    flow = start(client)
    grant(client, flow, anna.login)
    password = poll(client, flow).json()["appPassword"]
    login_token = flow.login_path.rsplit("/", 1)[1]
    with svc.db.read() as s:
        events = s.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    actions = [e.action for e in events]
    for action in ("login-flow.start", "login-flow.grant", "login-flow.collect"):
        assert action in actions
    for e in events:
        text = f"{e.actor} {e.client} {e.target} {e.detail}"
        for secret in (password, flow.poll_token, login_token, factories.PASSWORD):
            assert secret not in text, e.action


def test_the_database_holds_no_token_and_no_password(
    client: Any, svc: Services, anna: Principal
) -> None:
    flow = start(client)
    grant(client, flow, anna.login)
    login_token = flow.login_path.rsplit("/", 1)[1]
    with svc.db.read() as s:
        row = s.scalars(select(LoginFlow)).one()
    stored = f"{row.poll_hash} {row.login_hash} {row.sealed_password!r}".encode()
    assert flow.poll_token.encode() not in stored
    assert login_token.encode() not in stored
    password = poll(client, flow).json()["appPassword"]
    assert row.sealed_password is not None and password.encode() not in row.sealed_password


def test_a_wrong_password_shows_an_error(client: Any, anna: Principal) -> None:
    flow = start(client)
    r = sign_in(client, flow, anna.login, "not-the-password")
    assert r.status_code == 403
    page = Page(r.text)
    assert page.alerts == 1
    assert "Anmeldename oder Passwort ist falsch" in page.all_text
    # The form comes back, the name kept, ready for another try.
    assert page.form.fields["user"] == anna.login
    assert "csrf" in page.form.fields
    # The error is announced and tied to the fields it is about.
    assert page.duplicate_attrs == []
    assert "login-error" in page.ids
    fields = {i["id"]: i for i in page.inputs if "id" in i}
    for name in ("user", "password"):
        assert fields[name]["aria-invalid"] == "true"
        assert "login-error" in fields[name]["aria-describedby"].split()
    assert poll(client, flow).status_code == 404


def test_a_wrong_password_on_the_page_is_audited(
    client: Any, svc: Services, anna: Principal
) -> None:
    flow = start(client)
    sign_in(client, flow, anna.login, "not-the-password")
    with svc.db.read() as s:
        failed = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "login", AuditEvent.outcome == "failure")
        ).all()
    assert [e.actor for e in failed] == [anna.login]


def test_an_unknown_user_gets_the_same_words(client: Any, anna: Principal) -> None:
    flow = start(client)
    wrong = sign_in(client, flow, anna.login, "not-the-password")
    unknown = sign_in(client, flow, "nobody@lauscha", "not-the-password")
    assert wrong.status_code == unknown.status_code == 403
    assert Page(wrong.text).all_text == Page(unknown.text).all_text


def test_throttling_applies_on_the_page(client: Any, settings: Settings, anna: Principal) -> None:
    flow = start(client)
    for _ in range(settings.login_free_failures):
        sign_in(client, flow, anna.login, "not-the-password")
    r = sign_in(client, flow, anna.login, factories.PASSWORD)
    assert r.status_code == 429


def test_a_throttled_sign_in_shows_when_to_try_again(
    client: Any, svc: Services, anna: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    def throttled(login: str, secret: str, *, client: str | None) -> Principal:
        raise TooManyFailedLogins(42)

    monkeypatch.setattr(svc.accounts, "authenticate", throttled)
    flow = start(client)
    r = sign_in(client, flow, anna.login, factories.PASSWORD)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "42"
    page = Page(r.text)
    assert page.alerts == 1
    assert "Zu viele fehlgeschlagene Anmeldungen" in page.all_text
    assert "42 Sekunden" in page.all_text


def test_expired_flows_are_404_everywhere(client: Any, svc: Services, anna: Principal) -> None:
    flow = start(client)
    page = Page(client.get(flow.login_path).text)
    with svc.db.write() as s:
        s.execute(update(LoginFlow).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get(flow.login_path).status_code == 404
    r = client.post(
        page.form.action,
        data={**page.form.fields, "user": anna.login, "password": factories.PASSWORD},
    )
    assert r.status_code == 404
    assert poll(client, flow).status_code == 404


def test_expired_flows_are_purged_when_the_next_one_starts(client: Any, svc: Services) -> None:
    start(client)
    with svc.db.write() as s:
        s.execute(update(LoginFlow).values(expires_at=utcnow() - timedelta(seconds=1)))
    start(client)
    with svc.db.read() as s:
        assert len(s.scalars(select(LoginFlow)).all()) == 1


def test_a_grant_after_expiry_leaves_no_app_password(
    client: Any, svc: Services, anna: Principal
) -> None:
    flow = start(client)
    form = Page(sign_in(client, flow, anna.login, factories.PASSWORD).text).form
    with svc.db.write() as s:
        s.execute(update(LoginFlow).values(expires_at=utcnow() - timedelta(seconds=1)))
    r = client.post(form.action, data={**form.fields, "decision": "grant"})
    assert r.status_code == 404
    assert svc.accounts.list_app_passwords(anna.login) == []


def test_an_unknown_login_token_is_404(client: Any) -> None:
    r = client.get("/index.php/login/v2/flow/" + "x" * 128)
    assert r.status_code == 404
    page = Page(r.text)
    assert page.lang == "de"
    assert "abgelaufen" in page.all_text


def test_sign_in_without_the_csrf_token_is_refused(
    client: Any, svc: Services, anna: Principal
) -> None:
    flow = start(client)
    r = client.post(flow.login_path, data={"user": anna.login, "password": factories.PASSWORD})
    assert r.status_code == 403
    r = client.post(
        flow.login_path,
        data={"csrf": "forged", "user": anna.login, "password": factories.PASSWORD},
    )
    assert r.status_code == 403
    with svc.db.read() as s:  # refused before any password was checked
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "login")).all() == []


def test_grant_without_a_valid_ticket_is_refused(
    client: Any, svc: Services, anna: Principal
) -> None:
    flow = start(client)
    other = start(client)
    form = Page(sign_in(client, flow, anna.login, factories.PASSWORD).text).form
    ticket = form.fields["ticket"]
    grant_path = urlsplit(form.action).path
    other_grant = grant_path.replace(
        flow.login_path.rsplit("/", 1)[1], other.login_path.rsplit("/", 1)[1]
    )
    for path, data in [
        (grant_path, {"decision": "grant"}),  # no ticket
        (
            grant_path,
            {
                "decision": "grant",
                "ticket": ticket[:-2] + ("yy" if ticket.endswith("xx") else "xx"),
            },
        ),  # forged
        (grant_path, {"decision": "grant", "ticket": "ZGF2ZUBsYXVzY2hhCjk5OTk5OTk5OTk.x"}),
        (other_grant, {"decision": "grant", "ticket": ticket}),  # another flow's ticket
    ]:
        r = client.post(path, data=data)
        assert r.status_code == 403, (path, data, r.text)
    assert svc.accounts.list_app_passwords(anna.login) == []
    assert poll(client, flow).status_code == 404
    assert poll(client, other).status_code == 404


def test_a_grant_needs_a_decision(client: Any, anna: Principal) -> None:
    flow = start(client)
    form = Page(sign_in(client, flow, anna.login, factories.PASSWORD).text).form
    r = client.post(form.action, data={**form.fields, "decision": "maybe"})
    assert r.status_code == 400


def test_an_expired_ticket_is_refused(svc: Services, anna: Principal) -> None:
    tokens = svc.login_flows.start("test")
    old = svc.login_flows._ticket(
        tokens.login, anna.login, now=utcnow() - TICKET_LIFETIME - timedelta(seconds=1)
    )
    with pytest.raises(InvalidFormToken):
        svc.login_flows.redeem(tokens.login, old)
    fresh = svc.login_flows._ticket(tokens.login, anna.login)
    assert svc.login_flows.redeem(tokens.login, fresh).login == anna.login


def test_an_account_disabled_after_sign_in_cannot_grant(
    client: Any, svc: Services, anna: Principal
) -> None:
    flow = start(client)
    form = Page(sign_in(client, flow, anna.login, factories.PASSWORD).text).form
    svc.accounts.set_state(anna.login, UserState.DISABLED)
    r = client.post(form.action, data={**form.fields, "decision": "grant"})
    assert r.status_code == 403
    assert svc.accounts.list_app_passwords(anna.login) == []


def test_deny_ends_the_flow(client: Any, svc: Services, anna: Principal) -> None:
    flow = start(client)
    r = grant(client, flow, anna.login, decision="deny")
    assert r.status_code == 200
    assert "nicht erlaubt" in Page(r.text).all_text
    assert poll(client, flow).status_code == 404
    assert client.get(flow.login_path).status_code == 404
    assert svc.accounts.list_app_passwords(anna.login) == []
    with svc.db.read() as s:
        assert s.scalar(select(AuditEvent.actor).where(AuditEvent.action == "login-flow.deny"))


def test_app_password_names_are_unique(client: Any, svc: Services, anna: Principal) -> None:
    for _ in range(3):
        flow = start(client)
        grant(client, flow, anna.login)
        assert poll(client, flow).status_code == 200
    names = sorted(a.name for a in svc.accounts.list_app_passwords(anna.login))
    assert names == [
        "Nextcloud Desktop 3.7.3git",
        "Nextcloud Desktop 3.7.3git (2)",
        "Nextcloud Desktop 3.7.3git (3)",
    ]


@pytest.mark.parametrize(
    ("user_agent", "name"),
    [
        ("Mozilla/5.0 (Android) Nextcloud-android/3.25.0", "Nextcloud Android 3.25.0"),
        ("Mozilla/5.0 (iOS) Nextcloud-iOS/4.9.0", "Nextcloud iOS 4.9.0"),
        ("Mozilla/5.0 (Linux) mirall/2.11.0 (ownCloud, debian)", "ownCloud Desktop 2.11.0"),
        ("curl/7.88.1", "curl/7.88.1"),
        ("", "unknown client"),
    ],
)
def test_client_names(
    client: Any, svc: Services, anna: Principal, user_agent: str, name: str
) -> None:
    flow = start(client, user_agent)
    grant(client, flow, anna.login)
    assert poll(client, flow).status_code == 200
    assert [a.name for a in svc.accounts.list_app_passwords(anna.login)] == [name]


def test_a_hostile_client_name_is_escaped(client: Any, anna: Principal) -> None:
    flow = start(client, '<script>alert("x")</script>')
    r = client.get(flow.login_path)
    assert "<script>" not in r.text
    assert Page(r.text).scripts == 0
    assert '<script>alert("x")</script>' in Page(r.text).all_text


def test_poll_without_a_token_is_400(client: Any) -> None:
    assert client.post("/index.php/login/v2/poll").status_code == 400
    assert client.post("/index.php/login/v2/poll", data={"token": ""}).status_code == 400
    r = client.post(
        "/index.php/login/v2/poll",
        content=b"token=abc",
        headers={"Content-Type": "multipart/form-data; boundary=x"},
    )
    assert r.status_code == 400


def test_poll_takes_json_too(client: Any, anna: Principal) -> None:
    flow = start(client)
    grant(client, flow, anna.login)
    r = client.post(flow.poll_path, json={"token": flow.poll_token})
    assert r.status_code == 200


def test_an_oversized_form_is_400(client: Any) -> None:
    flow = start(client)
    r = client.post(flow.login_path, data={"csrf": "x" * 20_000})
    assert r.status_code == 400


def test_only_one_of_two_racing_polls_gets_the_password(
    client: Any, svc: Services, anna: Principal
) -> None:
    flow = start(client)
    grant(client, flow, anna.login)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda _: poll(client, flow).status_code, range(4)))
    assert sorted(codes) == [200, 404, 404, 404]


def test_the_login_name_can_be_prefilled(client: Any, anna: Principal) -> None:
    flow = start(client)
    page = Page(client.get(flow.login_path + "?user=anna%40lauscha").text)
    assert page.form.fields["user"] == "anna@lauscha"


# -- the page itself -------------------------------------------------------


def test_the_page_is_accessible_and_self_contained(client: Any) -> None:
    flow = start(client)
    r = client.get(flow.login_path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = Page(r.text)
    assert page.lang == "de"
    assert page.scripts == 0 and page.style_attrs == 0
    assert page.duplicate_attrs == []
    assert len(page.ids) == len(set(page.ids))
    # Every visible input has a label bound to it.
    visible = [i for i in page.inputs if i.get("type") != "hidden"]
    assert {i["id"] for i in visible} == {"user", "password"}
    assert set(page.label_for) >= {"user", "password"}
    assert {i["autocomplete"] for i in visible} == {"username", "current-password"}
    # Only our own stylesheet, served by us, with a visible focus indicator.
    assert page.stylesheets == ["/index.php/login/v2/thvc.css"]
    css = client.get(page.stylesheets[0])
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert ":focus-visible" in css.text and "outline" in css.text
    assert "http" not in css.text and "@import" not in css.text
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers["Cache-Control"] == "no-store"


def test_english_by_accept_language(client: Any, anna: Principal) -> None:
    flow = start(client)
    headers = {"Accept-Language": "en-GB,en;q=0.9,de;q=0.5"}
    page = Page(client.get(flow.login_path, headers=headers).text)
    assert page.lang == "en"
    assert "Login name" in page.all_text
    r = sign_in(client, flow, anna.login, factories.PASSWORD, **headers)
    assert "Allow access" in Page(r.text).all_text


def test_the_language_can_be_switched(client: Any) -> None:
    flow = start(client)
    r = client.get(flow.login_path, headers={"Accept-Language": "de"})
    link = re.search(r'<a href="([^"]+)" lang="en"', r.text)
    assert link is not None
    page = Page(client.get(link.group(1).replace("&amp;", "&")).text)
    assert page.lang == "en"
    assert page.form.action.endswith("lang=en")


def test_wrong_method_on_the_poll_endpoint(client: Any) -> None:
    assert client.get("/index.php/login/v2/poll").status_code == 405


def test_the_flow_row_expires_after_twenty_minutes(client: Any, svc: Services) -> None:
    start(client)
    with svc.db.read() as s:
        row = s.scalars(select(LoginFlow)).one()
    assert timedelta(minutes=19) < row.expires_at - row.created_at <= timedelta(minutes=20)


def test_app_passwords_from_a_flow_are_stored_hashed(
    client: Any, svc: Services, anna: Principal
) -> None:
    flow = start(client)
    grant(client, flow, anna.login)
    password = poll(client, flow).json()["appPassword"]
    with svc.db.read() as s:
        row = s.scalars(select(AppPassword)).one()
    assert row.token_hash == token_hash(password)
    assert password not in row.token_hash
