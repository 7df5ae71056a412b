"""TotpService: enrolment, confirmation, checks, replay, disabling (RFC 6238)."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import select
from tests.common import factories

from thvc.accounts import services as account_services
from thvc.accounts import totp as totp_mod
from thvc.accounts.models import User
from thvc.accounts.services import Principal
from thvc.accounts.totp import SecretBox, TotpAlreadyEnabled, TotpNotEnabled, WrongCode
from thvc.audit import query
from thvc.db.types import utcnow
from thvc.errors import TooManyFailedLogins
from thvc.services import Services


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


def key_of(secret: str) -> bytes:
    return base64.b32decode(secret + "=" * (-len(secret) % 8))


def code_at(secret: str, at: float) -> str:
    return TOTP(key_of(secret), 6, SHA1(), 30, enforce_key_length=False).generate(at).decode()


def other_than(*codes: str) -> str:
    return next(c for c in ("123456", "654321", "000000") if c not in codes)


def test_enrolment_gives_a_secret_and_an_otpauth_uri(svc: Services, anna: Principal) -> None:
    enrolment = svc.totp.begin(anna)
    assert len(key_of(enrolment.secret)) == 20
    uri = urlsplit(enrolment.uri)
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert uri.path == "/ThVC:anna%40lauscha"
    params = parse_qs(uri.query)
    assert params["secret"] == [enrolment.secret]
    assert params["issuer"] == ["ThVC"] and params["digits"] == ["6"]
    # Not in force before a code confirms it.
    assert not svc.totp.enabled(anna.user_id)
    assert not svc.sessions.login("anna@lauscha", factories.PASSWORD).second_factor_due


def test_the_secret_is_stored_sealed(svc: Services, anna: Principal) -> None:
    secret = key_of(svc.totp.begin(anna).secret)
    with svc.db.read() as s:
        sealed = s.scalars(select(User.totp_sealed).where(User.id == anna.user_id)).one()
    assert sealed is not None and secret not in sealed
    assert svc.totp.box.open(sealed, anna.user_id) == secret
    # Bound to the user: the sealed secret copied to another row opens nothing.
    assert svc.totp.box.open(sealed, anna.user_id + 1) is None
    assert SecretBox(b"k" * 32).open(sealed, anna.user_id) is None


def test_a_code_confirms_the_enrolment(svc: Services, anna: Principal) -> None:
    secret = svc.totp.begin(anna).secret
    with pytest.raises(WrongCode):
        svc.totp.confirm(anna, other_than(code_at(secret, time.time())))
    assert not svc.totp.enabled(anna.user_id)
    svc.totp.confirm(anna, code_at(secret, time.time()))
    assert svc.totp.enabled(anna.user_id)
    assert svc.sessions.login("anna@lauscha", factories.PASSWORD).second_factor_due
    with pytest.raises(TotpAlreadyEnabled):
        svc.totp.begin(anna)
    with pytest.raises(TotpAlreadyEnabled):
        svc.totp.confirm(anna, code_at(secret, time.time() + 30))
    with svc.db.read() as s:
        assert [e.action for e in query(s, action="totp.enable")] == ["totp.enable"]


def test_asking_again_replaces_an_unconfirmed_secret(svc: Services, anna: Principal) -> None:
    first = svc.totp.begin(anna).secret
    second = svc.totp.begin(anna).secret
    assert first != second
    with pytest.raises(WrongCode):
        svc.totp.confirm(anna, code_at(first, time.time()))
    svc.totp.confirm(anna, code_at(second, time.time()))


def test_codes_match_within_one_step_of_drift() -> None:
    key = b"0123456789abcdefghij"
    secret = totp_mod.base32(key)
    now = 1_800_000_000.0
    step = int(now) // 30
    for offset, expected in ((-30, step - 1), (0, step), (30, step + 1)):
        assert totp_mod.matching_step(key, code_at(secret, now + offset), now=now) == expected
    assert totp_mod.matching_step(key, code_at(secret, now + 60), now=now) is None
    assert totp_mod.matching_step(key, code_at(secret, now - 60), now=now) is None
    spaced = code_at(secret, now)
    assert totp_mod.matching_step(key, f"{spaced[:3]} {spaced[3:]}", now=now) == step
    for bad in ("", "12345", "1234567", "abcdef"):
        assert totp_mod.matching_step(key, bad, now=now) is None


def test_the_rfc_6238_test_vector() -> None:
    # RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); the last 6 digits here.
    key = b"12345678901234567890"
    assert totp_mod._totp(key).generate(59) == b"287082"


def test_a_code_is_used_once(svc: Services, anna: Principal) -> None:
    secret = svc.totp.begin(anna).secret
    svc.totp.confirm(anna, code_at(secret, time.time()))
    with svc.db.write() as s:
        user = s.get_one(User, anna.user_id)
        nxt = code_at(secret, time.time() + 30)
        assert svc.totp.verify(s, user, nxt)
        assert not svc.totp.verify(s, user, nxt)
        # Nor is an older step accepted after a newer one.
        assert not svc.totp.verify(s, user, code_at(secret, time.time()))


def test_disabling_needs_a_current_code(svc: Services, anna: Principal) -> None:
    with pytest.raises(TotpNotEnabled):
        svc.totp.disable(anna, "123456")
    secret = svc.totp.begin(anna).secret
    with pytest.raises(TotpNotEnabled):
        svc.totp.disable(anna, code_at(secret, time.time()))
    svc.totp.confirm(anna, code_at(secret, time.time()))
    with pytest.raises(WrongCode):
        svc.totp.disable(anna, code_at(secret, time.time()))  # used for confirming
    svc.totp.disable(anna, code_at(secret, time.time() + 30))
    assert not svc.totp.enabled(anna.user_id)
    assert not svc.sessions.login("anna@lauscha", factories.PASSWORD).second_factor_due
    with svc.db.read() as s:
        user = s.get_one(User, anna.user_id)
        assert user.totp_sealed is None and user.totp_last_step is None
    # And it can be set up again, with a new secret.
    assert svc.totp.begin(anna).secret != secret


def test_wrong_codes_are_throttled(
    svc: Services, anna: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = utcnow()  # the throttle's clock stands still: no delay runs out meanwhile
    monkeypatch.setattr(account_services, "utcnow", lambda: fixed)
    secret = svc.totp.begin(anna).secret
    wrong = other_than(code_at(secret, time.time()), code_at(secret, time.time() + 30))
    for _ in range(svc.settings.login_free_failures):
        with pytest.raises(WrongCode):
            svc.totp.confirm(anna, wrong)
    with pytest.raises(TooManyFailedLogins):
        svc.totp.confirm(anna, code_at(secret, time.time()))
    assert not svc.totp.enabled(anna.user_id)
