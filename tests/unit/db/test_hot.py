"""The plain-SQL reads of the request path (thvc.db.hot) against the ORM's view of the same rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from thvc.accounts.models import LoginThrottle
from thvc.services import Services


def test_datetimes_come_back_as_the_orm_gives_them(svc: Services) -> None:
    when = datetime(2026, 11, 23, 22, 59, 58, 123456, tzinfo=UTC)
    with svc.db.write() as s:
        s.add(LoginThrottle(key="k", failures=1, last_failure_at=when, blocked_until=when))
    with svc.db.hot() as r:
        raw = r.scalar("SELECT blocked_until FROM login_throttle WHERE key = ?", "k")
        assert r.ts(raw) == when and r.ts(raw).tzinfo is not None  # type: ignore[union-attr]
        # Comparisons with a bound datetime work on both engines (SQLite compares text).
        earlier, later = r.bind_ts(when - timedelta(seconds=1)), r.bind_ts(when)
        assert r.scalar("SELECT count(*) FROM login_throttle WHERE blocked_until > ?", earlier) == 1
        assert r.scalar("SELECT count(*) FROM login_throttle WHERE blocked_until > ?", later) == 0
    with svc.db.read() as s:
        assert s.scalar(select(LoginThrottle.blocked_until)) == when


def test_a_reader_in_a_write_transaction_sees_its_unflushed_changes(svc: Services) -> None:
    with svc.db.write() as s:
        s.add(LoginThrottle(key="pending", failures=1, last_failure_at=datetime.now(UTC)))
        r = svc.db.reader(s)
        assert r.scalar("SELECT failures FROM login_throttle WHERE key = ?", "pending") == 1
    with svc.db.hot() as r:
        assert r.one("SELECT key FROM login_throttle WHERE key = ?", "pending") == ("pending",)


def test_a_hot_snapshot_writes_nothing_and_returns_its_connection(svc: Services) -> None:
    with svc.db.write() as s:
        s.add(LoginThrottle(key="k", failures=1, last_failure_at=datetime.now(UTC)))
    for _ in range(3 * 50):  # more than the pool holds: each block gives its connection back
        with svc.db.hot() as r:
            assert r.scalar("SELECT count(*) FROM login_throttle") == 1
    with svc.db.hot() as r, pytest.raises(RuntimeError, match="does not write"):
        r.run("UPDATE login_throttle SET failures = 7 WHERE key = 'k'")
    with svc.db.read() as s:
        assert s.get_one(LoginThrottle, "k").failures == 1

    # The connections went back as the ORM needs them: a write that fails rolls back.
    def failing_write() -> None:
        with svc.db.write() as s:
            s.get_one(LoginThrottle, "k").failures = 9
            s.flush()
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing_write()
    with svc.db.read() as s:
        assert s.get_one(LoginThrottle, "k").failures == 1


def test_when_postgresql_drops_every_connection_one_read_fails_and_the_rest_reconnect(
    svc: Services,
) -> None:
    if svc.db.is_sqlite:
        pytest.skip("PostgreSQL only: SQLite has no server whose restart drops connections")
    import psycopg

    held = [svc.db.engine.raw_connection() for _ in range(4)]  # four pooled connections
    for conn in held:
        conn.close()
    with svc.db.engine.connect() as c:
        c.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        c.commit()
    failures = 0
    for _ in range(6):
        try:
            with svc.db.hot() as r:
                assert r.scalar("SELECT 1") == 1
        except psycopg.OperationalError:
            failures += 1
    # The first read on a dead connection fails (no ping per checkout) and replaces the
    # pool: the others connect afresh instead of failing one dead connection at a time.
    assert failures <= 1
    with svc.db.read() as s:
        assert s.scalar(select(1)) == 1
