"""AccountService: users, app passwords, groups, authentication and its throttling (§4)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from tests.common import factories

from thvc.accounts import services as account_services
from thvc.accounts.models import (
    AppPassword,
    CredentialCache,
    GroupMember,
    Role,
    User,
    UserState,
)
from thvc.accounts.services import AccountService, Principal, split_login
from thvc.audit import AuditEvent, query
from thvc.db.types import utcnow
from thvc.errors import AlreadyExists, BadRequest, NotAuthenticated, NotFound, TooManyFailedLogins
from thvc.services import Services
from thvc.tenants.models import TenantKind

PW = factories.PASSWORD


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


class Clock:
    """A controllable ``utcnow`` for the account service (throttle windows)."""

    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(account_services, "utcnow", c)
    return c


def login_events(svc: Services, outcome: str | None = None) -> list[AuditEvent]:
    with svc.db.read() as s:
        events = query(s, action="login", limit=1000)
    return [e for e in events if outcome is None or e.outcome == outcome]


# -- login names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "expected"),
    [
        ("anna@lauscha", ("anna", "lauscha")),
        ("Anna@Lauscha", ("anna", "lauscha")),
        ("  anna@lauscha ", ("anna", "lauscha")),
        ("anna.maria-x_1@suhl-2", ("anna.maria-x_1", "suhl-2")),
        ("a@b", ("a", "b")),
        ("weird@name@lauscha", None),
        ("anna", None),
        ("@lauscha", None),
        ("anna@", None),
        (".anna@lauscha", None),
        ("anna.@lauscha", None),
        ("an na@lauscha", None),
        ("x" * 65 + "@lauscha", None),
    ],
)
def test_split_login(login: str, expected: tuple[str, str] | None) -> None:
    if expected is None:
        with pytest.raises(BadRequest):
            split_login(login)
    else:
        assert split_login(login) == expected


# -- users ---------------------------------------------------------------------------


def test_create_user(svc: Services) -> None:
    factories.tenant(svc, "lauscha")
    user = svc.accounts.create_user("Anna@Lauscha", PW, quota_bytes=1000, display_name="Anna A.")
    assert (user.login, user.name, user.role, user.state, user.quota_bytes) == (
        "anna@lauscha",
        "anna",
        Role.MEMBER,
        UserState.ACTIVE,
        1000,
    )
    assert user.password_hash is not None
    assert PW not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    with svc.db.read() as s:
        (event,) = query(s, action="user.create")
    assert event.target == "anna@lauscha"


def test_create_user_refuses_a_duplicate(svc: Services) -> None:
    factories.user(svc, "anna@lauscha")
    with pytest.raises(AlreadyExists):
        svc.accounts.create_user("ANNA@lauscha", PW)


def test_create_user_needs_an_existing_tenant(svc: Services) -> None:
    with pytest.raises(NotFound):
        svc.accounts.create_user("anna@nowhere", PW)


def test_the_same_name_in_two_tenants_is_two_users(svc: Services) -> None:
    a = factories.user(svc, "anna@lauscha")
    b = factories.user(svc, "anna@suhl")
    assert a.user_id != b.user_id


@pytest.mark.parametrize("password", ["", "short", "x" * 9])
def test_passwords_have_a_minimum_length(svc: Services, password: str) -> None:
    factories.tenant(svc, "lauscha")
    with pytest.raises(BadRequest, match="at least 10"):
        svc.accounts.create_user("anna@lauscha", password)
    factories.user(svc, "anna@lauscha", password="x" * 10)
    with pytest.raises(BadRequest):
        svc.accounts.set_password("anna@lauscha", password)


def test_operators_belong_to_the_platform_tenant(svc: Services) -> None:
    factories.tenant(svc, "lauscha")
    with pytest.raises(BadRequest):
        svc.accounts.create_user("op@lauscha", PW, role=Role.OPERATOR)
    factories.tenant(svc, "platform", kind=TenantKind.PLATFORM)
    assert svc.accounts.create_user("op@platform", PW, role=Role.OPERATOR).role is Role.OPERATOR


def test_set_password_invalidates_the_old_one(svc: Services, anna: object) -> None:
    svc.accounts.authenticate("anna@lauscha", PW, client="c")
    svc.accounts.set_password("anna@lauscha", "a-brand-new-password")
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("anna@lauscha", PW, client="c")
    svc.accounts.authenticate("anna@lauscha", "a-brand-new-password", client="c")


def test_delete_user(svc: Services, anna: object) -> None:
    svc.accounts.delete_user("anna@lauscha")
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("anna@lauscha", PW, client="c")
    assert [u.login for u, _ in svc.accounts.list_users()] == []


def test_list_users(svc: Services) -> None:
    factories.user(svc, "ben@suhl")
    factories.user(svc, "anna@lauscha")
    factories.user(svc, "carl@lauscha")
    assert [(u.login, t) for u, t in svc.accounts.list_users()] == [
        ("anna@lauscha", "lauscha"),
        ("ben@suhl", "suhl"),
        ("carl@lauscha", "lauscha"),
    ]
    assert [u.login for u, _ in svc.accounts.list_users("suhl")] == ["ben@suhl"]


# -- groups ----------------------------------------------------------------------------


def test_groups(svc: Services, anna: object) -> None:
    svc.accounts.create_group("lauscha", "bauamt")
    with pytest.raises(AlreadyExists):
        svc.accounts.create_group("lauscha", "bauamt")
    svc.accounts.add_to_group("bauamt", "anna@lauscha")
    svc.accounts.add_to_group("bauamt", "anna@lauscha")  # twice is once
    with svc.db.read() as s:
        assert s.scalar(select(func.count()).select_from(GroupMember)) == 1
    svc.accounts.remove_from_group("bauamt", "anna@lauscha")
    with pytest.raises(NotFound):
        svc.accounts.remove_from_group("bauamt", "anna@lauscha")


@pytest.mark.parametrize("name", ["", "Bauamt", "bau amt", "-x", "x-", "bauamt\n", "x" * 65])
def test_invalid_group_names(svc: Services, name: str) -> None:
    factories.tenant(svc, "lauscha")
    with pytest.raises(BadRequest):
        svc.accounts.create_group("lauscha", name)


def test_a_group_of_another_tenant_is_not_found(svc: Services, anna: object) -> None:
    factories.tenant(svc, "suhl")
    svc.accounts.create_group("suhl", "bauamt")
    with pytest.raises(NotFound):
        svc.accounts.add_to_group("bauamt", "anna@lauscha")


# -- authentication ----------------------------------------------------------------------


def test_authenticate_with_the_password(svc: Services, anna: Principal) -> None:
    who = svc.accounts.authenticate("Anna@Lauscha ", PW, client="192.0.2.1")
    assert who == anna


def test_wrong_password_and_unknown_user_fail_alike(svc: Services, anna: object) -> None:
    with pytest.raises(NotAuthenticated) as wrong:
        svc.accounts.authenticate("anna@lauscha", "not-the-password", client="c1")
    with pytest.raises(NotAuthenticated) as unknown:
        svc.accounts.authenticate("nobody@lauscha", "not-the-password", client="c2")
    with pytest.raises(NotAuthenticated) as no_tenant:
        svc.accounts.authenticate("nobody@nowhere", "not-the-password", client="c3")
    assert str(wrong.value) == str(unknown.value) == str(no_tenant.value)


def test_every_login_is_audited(svc: Services, anna: object) -> None:
    svc.accounts.authenticate("anna@lauscha", PW, client="192.0.2.1")
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("anna@lauscha", "not-the-password", client="192.0.2.2")
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("nobody@lauscha", "not-the-password", client="192.0.2.3")
    events = {(e.actor, e.client, e.outcome) for e in login_events(svc)}
    assert events == {
        ("anna@lauscha", "192.0.2.1", "success"),
        ("anna@lauscha", "192.0.2.2", "failure"),
        ("nobody@lauscha", "192.0.2.3", "failure"),
    }


def test_a_refused_login_of_a_disabled_user_is_audited(svc: Services, anna: object) -> None:
    svc.accounts.set_state("anna@lauscha", UserState.DISABLED)
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("anna@lauscha", PW, client="c")
    (event,) = login_events(svc)
    assert event.outcome in ("denied", "failure")


def test_failures_are_throttled_after_the_free_allowance(
    svc: Services, anna: object, clock: Clock
) -> None:
    free = svc.settings.login_free_failures
    for _ in range(free):
        with pytest.raises(NotAuthenticated):
            svc.accounts.authenticate("anna@lauscha", "not-the-password", client="c")
    with pytest.raises(TooManyFailedLogins) as info:
        svc.accounts.authenticate("anna@lauscha", PW, client="c")
    assert info.value.resets_in >= 1
    # Counted in the database, so another process (another service) sees it too.
    other = AccountService(
        svc.db, audit=svc.audit, settings=svc.settings, cache_secret=b"another process"
    )
    with pytest.raises(TooManyFailedLogins):
        other.authenticate("anna@lauscha", PW, client="elsewhere")
    # Once the delay is over, the right password works and clears the account's count:
    # one new failure (from a fresh address) is not throttled.
    clock.advance(info.value.resets_in + 1)
    svc.accounts.authenticate("anna@lauscha", PW, client="c")
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("anna@lauscha", "not-the-password", client="d")
    svc.accounts.authenticate("anna@lauscha", PW, client="d")


def test_throttle_delays_grow(svc: Services, anna: object, clock: Clock) -> None:
    delays = []
    for _ in range(svc.settings.login_free_failures + 3):
        try:
            svc.accounts.authenticate("anna@lauscha", "not-the-password", client="c")
        except NotAuthenticated:
            pass
        except TooManyFailedLogins as exc:
            delays.append(exc.resets_in)
            clock.advance(exc.resets_in + 1)
            with pytest.raises(NotAuthenticated):
                svc.accounts.authenticate("anna@lauscha", "not-the-password", client="c")
    assert delays
    assert delays == sorted(delays)
    assert delays[-1] > delays[0]
    assert max(delays) <= svc.settings.login_max_delay_seconds


def test_a_client_address_is_throttled_across_accounts(
    svc: Services, anna: object, clock: Clock
) -> None:
    for i in range(svc.settings.login_free_failures):
        with pytest.raises(NotAuthenticated):
            svc.accounts.authenticate(f"guess{i}@lauscha", "not-the-password", client="203.0.113.9")
    with pytest.raises(TooManyFailedLogins):
        svc.accounts.authenticate("anna@lauscha", PW, client="203.0.113.9")
    # Another address is not affected.
    svc.accounts.authenticate("anna@lauscha", PW, client="198.51.100.1")


def test_a_throttled_attempt_is_audited(svc: Services, anna: object, clock: Clock) -> None:
    for _ in range(svc.settings.login_free_failures):
        with pytest.raises(NotAuthenticated):
            svc.accounts.authenticate("anna@lauscha", "not-the-password", client="c")
    before = len(login_events(svc))
    with pytest.raises(TooManyFailedLogins):
        svc.accounts.authenticate("anna@lauscha", "not-the-password", client="c")
    assert len(login_events(svc)) == before + 1


# -- app passwords -----------------------------------------------------------------------


def test_app_passwords(svc: Services, anna: Principal) -> None:
    token = svc.accounts.create_app_password("anna@lauscha", "laptop")
    assert len(token) == 29 and token.count("-") == 4
    assert svc.accounts.authenticate("anna@lauscha", token, client="c") == anna
    with pytest.raises(AlreadyExists):
        svc.accounts.create_app_password("anna@lauscha", "laptop")
    (app,) = svc.accounts.list_app_passwords("anna@lauscha")
    assert (app.name, app.hint) == ("laptop", token[-4:])
    assert app.last_used_at is not None
    with svc.db.read() as s:
        stored = s.scalars(select(AppPassword.token_hash)).one()
    assert token not in stored
    (success,) = login_events(svc, "success")
    assert "app-password" in success.detail


def test_an_app_password_is_bound_to_its_user(svc: Services, anna: object) -> None:
    factories.user(svc, "carl@lauscha")
    token = svc.accounts.create_app_password("anna@lauscha", "laptop")
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("carl@lauscha", token, client="c")


def test_a_revoked_app_password_fails_even_when_cached(svc: Services, anna: object) -> None:
    token = svc.accounts.create_app_password("anna@lauscha", "laptop")
    svc.accounts.authenticate("anna@lauscha", token, client="c")  # cached now
    svc.accounts.revoke_app_password("anna@lauscha", "laptop")
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("anna@lauscha", token, client="c")
    assert svc.accounts.list_app_passwords("anna@lauscha") == []
    with pytest.raises(NotFound):
        svc.accounts.revoke_app_password("anna@lauscha", "laptop")


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_an_app_password_needs_a_sensible_name(svc: Services, anna: object, name: str) -> None:
    with pytest.raises(BadRequest):
        svc.accounts.create_app_password("anna@lauscha", name)


# -- credential cache ---------------------------------------------------------------------


def test_the_credential_cache_holds_no_password(svc: Services, anna: object) -> None:
    svc.accounts.authenticate("anna@lauscha", PW, client="c")
    with svc.db.read() as s:
        (row,) = s.scalars(select(CredentialCache)).all()
    assert PW not in row.key
    assert row.key != hashlib.sha256(f"anna@lauscha\0{PW}".encode()).hexdigest()
    expected = hmac.new(
        svc.accounts.cache_secret, f"anna@lauscha\0{PW}".encode(), hashlib.sha256
    ).hexdigest()
    assert row.key == expected
    # The HMAC key is not something stored next to it.
    assert svc.accounts.cache_secret not in svc.settings.key_file.read_bytes()


def test_a_cached_credential_skips_argon2(
    svc: Services, anna: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc.accounts.authenticate("anna@lauscha", PW, client="c")

    def boom(*args: object) -> bool:
        raise AssertionError("argon2 was run for a cached credential")

    monkeypatch.setattr(account_services, "verify_password", boom)
    svc.accounts.authenticate("anna@lauscha", PW, client="c")


def test_a_wrong_password_is_not_served_from_the_cache(svc: Services, anna: object) -> None:
    svc.accounts.authenticate("anna@lauscha", PW, client="c")
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("anna@lauscha", PW + "x", client="c")


def test_a_disabled_user_is_refused_even_with_a_cached_credential(
    svc: Services, anna: object
) -> None:
    svc.accounts.authenticate("anna@lauscha", PW, client="c")
    svc.accounts.set_state("anna@lauscha", UserState.DISABLED)
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("anna@lauscha", PW, client="c")
    svc.accounts.set_state("anna@lauscha", UserState.ACTIVE)
    svc.accounts.authenticate("anna@lauscha", PW, client="c")


def test_a_suspended_tenant_is_refused_even_with_a_cached_credential(
    svc: Services, anna: object
) -> None:
    token = svc.accounts.create_app_password("anna@lauscha", "laptop")
    svc.accounts.authenticate("anna@lauscha", PW, client="c")
    svc.accounts.authenticate("anna@lauscha", token, client="c")
    svc.tenants.suspend("lauscha")
    for secret in (PW, token):
        with pytest.raises(NotAuthenticated):
            svc.accounts.authenticate("anna@lauscha", secret, client="c")


def test_an_expired_account_is_refused(svc: Services, anna: object) -> None:
    with svc.db.write() as s:
        user = s.scalars(select(User).where(User.login == "anna@lauscha")).one()
        user.expires_at = utcnow() - timedelta(minutes=1)
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("anna@lauscha", PW, client="c")


def test_cache_entries_expire(svc: Services, anna: object, clock: Clock) -> None:
    svc.accounts.authenticate("anna@lauscha", PW, client="c")
    clock.advance(svc.settings.auth_cache_seconds + 1)
    assert svc.accounts.clean_credential_cache() == 1


# -- hostile input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "login",
    ["x" * 300 + "@lauscha", "an\x00na@lauscha", "anna@lauscha\x00", "\udcff@lauscha", ""],
)
def test_hostile_login_names_fail_cleanly(svc: Services, anna: object, login: str) -> None:
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate(login, "whatever-password", client="c")


def test_a_long_client_address_fails_cleanly(svc: Services, anna: object) -> None:
    """Behind a proxy the address comes from X-Forwarded-For: any text of any length."""
    client = "2001:db8::1, " * 40
    with pytest.raises(NotAuthenticated):
        svc.accounts.authenticate("anna@lauscha", "wrong-password", client=client)
    assert svc.accounts.authenticate("anna@lauscha", PW, client=client).login == "anna@lauscha"


def test_groups_are_listed_with_their_members_and_deleted(svc: Services) -> None:
    anna = factories.user(svc, "anna@lauscha")
    factories.user(svc, "ben@lauscha")
    svc.accounts.create_group("lauscha", "bauamt")
    svc.accounts.create_group("lauscha", "archiv")
    svc.accounts.add_to_group("bauamt", "ben@lauscha")
    svc.accounts.add_to_group("bauamt", "anna@lauscha")
    listed = svc.accounts.groups(anna.tenant_id)
    assert [(g.name, g.members) for g in listed] == [
        ("archiv", ()),
        ("bauamt", ("anna@lauscha", "ben@lauscha")),
    ]
    svc.accounts.delete_group("lauscha", "bauamt", actor="anna@lauscha")
    assert [g.name for g in svc.accounts.groups(anna.tenant_id)] == ["archiv"]
    with pytest.raises(NotFound):
        svc.accounts.delete_group("lauscha", "bauamt")


def test_the_display_name_is_tidied_and_checked(svc: Services) -> None:
    factories.user(svc, "anna@lauscha")
    svc.accounts.set_display_name("anna@lauscha", "  Anna   Schmidt ")
    with svc.db.read() as s:
        assert svc.accounts.get_user(s, "anna@lauscha").display_name == "Anna Schmidt"
    with pytest.raises(BadRequest):
        svc.accounts.set_display_name("anna@lauscha", "a\x07b")
