"""SessionService: web log-in, the second factor, time-outs, log-out and revocation."""

from __future__ import annotations

import base64
import time
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import func, select, update
from tests.common import factories

from thvc.accounts import services as account_services
from thvc.accounts.models import UserState, WebSession
from thvc.accounts.services import Principal
from thvc.accounts.sessions import SecondFactorDue, SessionExpired, SessionInfo
from thvc.audit import query
from thvc.db.types import utcnow
from thvc.errors import BadRequest, NotAuthenticated, NotFound, TooManyFailedLogins
from thvc.services import Services

PW = factories.PASSWORD


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throttle's clock stands still: a delay does not run out while a test is slow."""
    fixed = utcnow()
    monkeypatch.setattr(account_services, "utcnow", lambda: fixed)


def code_at(secret: str, at: float) -> str:
    """The code an authenticator app shows at ``at`` for the base32 ``secret``."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    return TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(at).decode()


def enrol(svc: Services, who: Principal) -> str:
    """Turn TOTP on for ``who`` with the current code; returns the base32 secret."""
    secret = svc.totp.begin(who).secret
    svc.totp.confirm(who, code_at(secret, time.time()))
    return secret


def open_session(svc: Services, login: str = "anna@lauscha") -> tuple[str, SessionInfo]:
    started = svc.sessions.login(login, PW, client="198.51.100.7", user_agent="Firefox")
    assert not started.second_factor_due
    return started.token, svc.sessions.resume(started.token)


def shift(svc: Services, session_id: int, **deltas: timedelta) -> None:
    """Move a session's times into the past (a browser left alone for a while)."""
    with svc.db.write() as s:
        row = s.get_one(WebSession, session_id)
        for name, delta in deltas.items():
            setattr(row, name, getattr(row, name) - delta)


def session_count(svc: Services) -> int:
    with svc.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(WebSession)) or 0)


# -- log-in -------------------------------------------------------------------


def test_login_opens_a_session_that_resume_finds(svc: Services, anna: Principal) -> None:
    token, info = open_session(svc)
    assert info.principal == anna
    assert info.user_agent == "Firefox" and info.client == "198.51.100.7"
    assert info.expires_at - info.created_at == timedelta(hours=svc.settings.session_max_hours)
    assert info.csrf == svc.sessions.csrf_for(token) and len(info.csrf) == 64
    # The database keeps a hash of the token, never the token.
    with svc.db.read() as s:
        stored = s.scalars(select(WebSession.token_hash)).one()
    assert token not in stored
    with svc.db.read() as s:
        assert [e.action for e in query(s, action="session.start")] == ["session.start"]


def test_every_login_gets_a_new_token(svc: Services, anna: Principal) -> None:
    first, a = open_session(svc)
    second, b = open_session(svc)
    assert first != second and a.id != b.id and a.csrf != b.csrf


def test_a_wrong_password_opens_nothing_and_is_throttled(
    svc: Services, anna: Principal, frozen: None
) -> None:
    for _ in range(svc.settings.login_free_failures):
        with pytest.raises(NotAuthenticated):
            svc.sessions.login("anna@lauscha", "wrong password!", client="198.51.100.7")
    # From the free allowance on, even the right password waits.
    with pytest.raises(TooManyFailedLogins) as caught:
        svc.sessions.login("anna@lauscha", PW, client="198.51.100.7")
    assert caught.value.resets_in >= 1
    assert session_count(svc) == 0


def test_an_unknown_or_disabled_account_opens_nothing(svc: Services, anna: Principal) -> None:
    with pytest.raises(NotAuthenticated):
        svc.sessions.login("nobody@lauscha", PW)
    svc.accounts.set_state("anna@lauscha", UserState.DISABLED)
    with pytest.raises(NotAuthenticated):
        svc.sessions.login("anna@lauscha", PW)
    assert session_count(svc) == 0


def test_an_app_password_does_not_open_a_web_session(svc: Services, anna: Principal) -> None:
    app = svc.accounts.create_app_password("anna@lauscha", "laptop")
    with pytest.raises(NotAuthenticated):
        svc.sessions.login("anna@lauscha", app)


def test_a_bad_token_resumes_nothing(svc: Services, anna: Principal) -> None:
    open_session(svc)
    with pytest.raises(SessionExpired):
        svc.sessions.resume("x" * 43)


# -- the second factor ----------------------------------------------------------


def test_with_totp_the_password_opens_half_a_session(svc: Services, anna: Principal) -> None:
    secret = enrol(svc, anna)
    started = svc.sessions.login("anna@lauscha", PW)
    assert started.second_factor_due
    with pytest.raises(SecondFactorDue):
        svc.sessions.resume(started.token)
    # The code of the next time step (the confirming one is used up).
    new_token = svc.sessions.second_factor(started.token, code_at(secret, time.time() + 30))
    assert new_token != started.token
    assert svc.sessions.resume(new_token).principal == anna
    # The token the browser held before it was fully logged in is dead (fixation).
    with pytest.raises(SessionExpired):
        svc.sessions.resume(started.token)
    with pytest.raises(SessionExpired):
        svc.sessions.second_factor(started.token, code_at(secret, time.time() + 30))


def test_a_used_or_wrong_code_is_refused(svc: Services, anna: Principal) -> None:
    secret = enrol(svc, anna)
    confirming = code_at(secret, time.time())
    started = svc.sessions.login("anna@lauscha", PW)
    # The code that switched TOTP on was seen: replaying it logs nobody in.
    with pytest.raises(NotAuthenticated):
        svc.sessions.second_factor(started.token, confirming)
    with pytest.raises(NotAuthenticated):
        svc.sessions.second_factor(started.token, "000000" if confirming != "000000" else "111111")
    # Two steps ahead is beyond the drift allowed.
    with pytest.raises(NotAuthenticated):
        svc.sessions.second_factor(started.token, code_at(secret, time.time() + 90))
    with pytest.raises(SecondFactorDue):
        svc.sessions.resume(started.token)
    good = code_at(secret, time.time() + 30)
    token = svc.sessions.second_factor(started.token, good)
    svc.sessions.resume(token)
    # Another log-in cannot reuse that code either.
    again = svc.sessions.login("anna@lauscha", PW)
    with pytest.raises(NotAuthenticated):
        svc.sessions.second_factor(again.token, good)
    with svc.db.read() as s:
        outcomes = [e.outcome for e in query(s, action="session.second-factor")]
    assert outcomes.count("success") == 1 and outcomes.count("failure") == 4


def test_wrong_codes_are_throttled(svc: Services, anna: Principal, frozen: None) -> None:
    secret = enrol(svc, anna)
    started = svc.sessions.login("anna@lauscha", PW)
    now = time.time()
    right = {code_at(secret, now + d) for d in (-30, 0, 30, 60)}
    wrong = next(c for c in ("123456", "654321", "000000", "999999") if c not in right)
    for _ in range(svc.settings.login_free_failures):
        with pytest.raises(NotAuthenticated):
            svc.sessions.second_factor(started.token, wrong)
    # While throttled, even the right code waits.
    with pytest.raises(TooManyFailedLogins):
        svc.sessions.second_factor(started.token, code_at(secret, time.time() + 30))


def test_a_half_open_log_in_times_out(svc: Services, anna: Principal) -> None:
    secret = enrol(svc, anna)
    started = svc.sessions.login("anna@lauscha", PW)
    with svc.db.read() as s:
        session_id = s.scalars(select(WebSession.id)).one()
    shift(svc, session_id, created_at=timedelta(minutes=11), last_seen_at=timedelta(minutes=11))
    with pytest.raises(SessionExpired):
        svc.sessions.second_factor(started.token, code_at(secret, time.time() + 30))


# -- time-outs ------------------------------------------------------------------


def test_a_session_ends_after_the_idle_time(svc: Services, anna: Principal) -> None:
    token, info = open_session(svc)
    idle = timedelta(minutes=svc.settings.session_idle_minutes)
    shift(svc, info.id, last_seen_at=idle - timedelta(minutes=1))
    svc.sessions.resume(token)  # still within the idle time: and now seen again
    with svc.db.read() as s:
        seen = s.get_one(WebSession, info.id).last_seen_at
    assert utcnow() - seen < timedelta(seconds=5)
    shift(svc, info.id, last_seen_at=idle + timedelta(seconds=1))
    with pytest.raises(SessionExpired):
        svc.sessions.resume(token)
    assert svc.sessions.sessions_of(anna) == []


def test_a_session_ends_after_the_absolute_time_even_when_busy(
    svc: Services, anna: Principal
) -> None:
    token, info = open_session(svc)
    with svc.db.write() as s:
        s.execute(
            update(WebSession)
            .where(WebSession.id == info.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    with pytest.raises(SessionExpired):
        svc.sessions.resume(token)


def test_purge_removes_only_ended_sessions(svc: Services, anna: Principal) -> None:
    token, info = open_session(svc)
    _, other = open_session(svc)
    shift(svc, other.id, last_seen_at=timedelta(days=1))
    assert svc.sessions.purge_expired() == 1
    assert svc.sessions.resume(token).id == info.id


def test_a_disabled_account_or_suspended_tenant_ends_its_sessions(
    svc: Services, anna: Principal
) -> None:
    token, _ = open_session(svc)
    svc.tenants.suspend("lauscha")
    with pytest.raises(SessionExpired):
        svc.sessions.resume(token)
    svc.tenants.resume("lauscha")
    svc.sessions.resume(token)
    svc.accounts.set_state("anna@lauscha", UserState.DISABLED)
    with pytest.raises(SessionExpired):
        svc.sessions.resume(token)


# -- ending ----------------------------------------------------------------------


def test_logout_ends_the_session(svc: Services, anna: Principal) -> None:
    token, _ = open_session(svc)
    svc.sessions.logout(token, client="198.51.100.7")
    with pytest.raises(SessionExpired):
        svc.sessions.resume(token)
    svc.sessions.logout(token)  # twice is no error
    with svc.db.read() as s:
        assert len(query(s, action="session.end")) == 1


def test_sessions_are_listed_and_revoked_only_by_their_owner(
    svc: Services, anna: Principal
) -> None:
    token, mine = open_session(svc)
    other_token, other = open_session(svc)
    assert {x.id for x in svc.sessions.sessions_of(anna)} == {mine.id, other.id}
    bert = factories.user(svc, "bert@lauscha")
    bert_token, _ = open_session(svc, "bert@lauscha")
    with pytest.raises(NotFound):
        svc.sessions.revoke(bert, other.id)
    svc.sessions.revoke(anna, other.id)
    with pytest.raises(SessionExpired):
        svc.sessions.resume(other_token)
    svc.sessions.resume(token)
    svc.sessions.resume(bert_token)
    assert [x.id for x in svc.sessions.sessions_of(anna)] == [mine.id]
    with pytest.raises(NotFound):
        svc.sessions.revoke(anna, other.id)


def test_changing_the_password_ends_the_other_sessions(svc: Services, anna: Principal) -> None:
    token, info = open_session(svc)
    other_token, _ = open_session(svc)
    svc.sessions.change_password(info, PW, "a new and long password")
    svc.sessions.resume(token)
    with pytest.raises(SessionExpired):
        svc.sessions.resume(other_token)
    with pytest.raises(NotAuthenticated):
        svc.sessions.login("anna@lauscha", PW)
    svc.sessions.login("anna@lauscha", "a new and long password")


def test_a_password_change_needs_the_current_password(svc: Services, anna: Principal) -> None:
    _, info = open_session(svc)
    other_token, _ = open_session(svc)
    with pytest.raises(NotAuthenticated):
        svc.sessions.change_password(info, "not the password", "a new and long password")
    with pytest.raises(BadRequest):
        svc.sessions.change_password(info, PW, "short")
    # Nothing changed: the old password works, the other session lives.
    svc.sessions.resume(other_token)
    svc.sessions.login("anna@lauscha", PW)
