"""Core calls tried on the event loop (thvc.onloop): what they may do there, and what sends
them to the thread pool before anything is written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select
from tests.common import factories

from thvc import onloop
from thvc.accounts.models import CredentialCache
from thvc.accounts.passwords import hash_password, verify_password
from thvc.accounts.services import Principal
from thvc.files import services as file_services
from thvc.files.models import Space, SpaceKind
from thvc.services import Services


def test_check_refuses_inside_a_call_only() -> None:
    onloop.check("anything")  # outside: nothing happens

    def slow() -> None:
        onloop.check("a nap")

    with pytest.raises(onloop.WouldBlock, match="a nap"):
        onloop.call(slow)
    onloop.check("anything")  # the refusal ended with the call


def test_a_held_resource_is_shared_by_a_call_and_closed_when_it_ends() -> None:
    log: list[str] = []

    @contextmanager
    def resource() -> Iterator[str]:
        log.append("open")
        yield "it"
        log.append("close")

    def parts() -> list[str | None]:
        got = [onloop.held("k", resource), onloop.held("k", resource)]
        assert log == ["open"]
        return got

    assert onloop.call(parts) == ["it", "it"]
    assert log == ["open", "close"]
    assert onloop.held("k", resource) is None  # outside a call: nothing held
    assert log == ["open", "close"]


def test_a_held_resource_is_closed_when_the_call_fails() -> None:
    log: list[str] = []

    @contextmanager
    def resource() -> Iterator[str]:
        try:
            yield "it"
        finally:
            log.append("close")

    def refused() -> None:
        onloop.held("k", resource)
        onloop.check("a write")

    with pytest.raises(onloop.WouldBlock):
        onloop.call(refused)
    assert log == ["close"]


def test_argon2_is_refused_on_the_loop() -> None:
    stored = hash_password("correct horse battery")
    with pytest.raises(onloop.WouldBlock, match="argon2"):
        onloop.call(verify_password, stored, "correct horse battery")
    with pytest.raises(onloop.WouldBlock, match="argon2"):
        onloop.call(hash_password, "another password")


def test_a_write_transaction_is_refused_before_it_begins(svc: Services) -> None:
    def write() -> None:
        with svc.db.write() as s:
            s.add(Space(tenant_id=1, kind=SpaceKind.TEAM, name="never"))  # pragma: no cover

    with pytest.raises(onloop.WouldBlock, match="write transaction"):
        onloop.call(write)
    with svc.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Space).where(Space.name == "never")) == 0


def test_reads_share_one_snapshot_on_sqlite_and_are_refused_on_postgresql(svc: Services) -> None:
    pool = svc.db.engine.pool

    def two_reads() -> bool:
        with svc.db.hot() as a:
            a.scalar("SELECT 1")
        with svc.db.hot() as b:
            return a is b and pool.checkedout() == 1  # type: ignore[attr-defined]

    if not svc.db.is_sqlite:
        assert not svc.files.reads_on_loop
        with pytest.raises(onloop.WouldBlock, match="round trip"):
            onloop.call(two_reads)
        return
    assert svc.files.reads_on_loop
    assert onloop.call(two_reads)
    assert pool.checkedout() == 0  # type: ignore[attr-defined]  # back when the call ended
    # Outside a call each block has its own snapshot.
    with svc.db.hot() as a:
        pass
    with svc.db.hot() as b:
        assert a is not b


@pytest.fixture
def anna(svc: Services) -> Principal:
    return factories.user(svc, "anna@lauscha")


def test_authentication_runs_on_the_loop_only_with_a_cached_credential(
    svc: Services, anna: Principal
) -> None:
    if not svc.db.is_sqlite:
        pytest.skip("SQLite only: on PostgreSQL nothing is tried on the loop")

    def login(password: str = factories.PASSWORD) -> Principal:
        return svc.accounts.authenticate(anna.login, password, client="127.0.0.1")

    with pytest.raises(onloop.WouldBlock, match="credential"):
        onloop.call(login)  # not cached yet: argon2 and a write would follow
    with svc.db.read() as s:
        assert s.scalar(select(func.count()).select_from(CredentialCache)) == 0
    assert login().login == anna.login  # in the pool, as after WouldBlock: now cached
    assert onloop.call(login).login == anna.login
    with pytest.raises(onloop.WouldBlock):
        onloop.call(login, "a wrong password")  # a failure is counted: a write


def test_a_large_folder_is_described_in_the_pool(
    svc: Services, anna: Principal, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not svc.db.is_sqlite:
        pytest.skip("SQLite only: on PostgreSQL nothing is tried on the loop")
    for i in range(3):
        factories.put(svc, anna, f"/f{i}.txt", b"x")
    root = factories.loc(svc, anna, "/")
    found = onloop.call(svc.files.describe, root, children=True)
    assert len(found.entries) == 4
    monkeypatch.setattr(file_services, "LOOP_LISTING_MAX", 2)
    with pytest.raises(onloop.WouldBlock, match="large folder"):
        onloop.call(svc.files.describe, root, children=True)
    assert len(svc.files.describe(root, children=True).entries) == 4
