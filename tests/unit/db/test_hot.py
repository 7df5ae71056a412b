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


def _throttle(svc: Services, *keys: str) -> None:
    with svc.db.write() as s:
        for i, key in enumerate(keys):
            s.add(LoginThrottle(key=key, failures=i + 1, last_failure_at=datetime.now(UTC)))


def _in_pipeline(r: object) -> bool:
    """Whether the reader's PostgreSQL connection is in pipeline mode (False on SQLite)."""
    pgconn = getattr(getattr(r, "connection", None), "pgconn", None)
    return pgconn is not None and bool(pgconn.pipeline_status)


_BY_KEY = "SELECT key, failures FROM login_throttle WHERE key = ?"


def test_a_batch_gives_each_read_its_own_rows_as_reads_one_by_one_would(svc: Services) -> None:
    _throttle(svc, "a", "b", "c")
    with svc.db.hot() as r:
        alone = [r.all(_BY_KEY, k) for k in "abz"]
        with r.batch() as b:
            rows = [b.all(_BY_KEY, k) for k in "abz"]
            first = b.one("SELECT failures FROM login_throttle ORDER BY key")
            none = b.one("SELECT failures FROM login_throttle WHERE key = ?", "missing")
            failures = b.all("SELECT failures FROM login_throttle")
            total = failures.then(lambda x: sum(f for (f,) in x))
            # On PostgreSQL the reads are queued, not yet answered: one round trip for all.
            assert _in_pipeline(r) == (not svc.db.is_sqlite)
        assert not _in_pipeline(r)
        assert [x.get() for x in rows] == alone == [[("a", 1)], [("b", 2)], []]
        assert first.get() == (1,) and none.get() is None and total.get() == 6
        # The snapshot goes on after the batch, and so may another batch.
        assert r.scalar("SELECT count(*) FROM login_throttle") == 3
        with r.batch() as b:
            again = b.one("SELECT count(*) FROM login_throttle")
        assert again.get() == (3,)


def test_asking_for_a_value_inside_the_batch_sends_what_is_queued(svc: Services) -> None:
    _throttle(svc, "a", "b")
    with svc.db.hot() as r, r.batch() as b:
        a = b.one("SELECT failures FROM login_throttle WHERE key = ?", "a")
        assert a.get() == (1,)  # runs the batch so far
        later = b.one("SELECT failures FROM login_throttle WHERE key = ?", "b")
        assert later.get() == (2,)


def _failing_batch(svc: Services) -> None:
    with svc.db.hot() as r, r.batch() as b:
        ok = b.one("SELECT failures FROM login_throttle WHERE key = ?", "a")
        b.one("SELECT no_such_column FROM login_throttle")
        ok.get()


def _batch_left_by_an_exception(svc: Services) -> None:
    with svc.db.hot() as r, r.batch() as b:
        b.one("SELECT failures FROM login_throttle WHERE key = ?", "a")
        raise ZeroDivisionError


def test_a_failed_read_in_a_batch_raises_and_leaves_the_connection_usable(svc: Services) -> None:
    _throttle(svc, "a")
    for _ in range(3):
        with pytest.raises(svc.db.engine.dialect.loaded_dbapi.Error):
            _failing_batch(svc)
    # An exception of the caller's own inside the block: the pipeline is left all the same.
    with pytest.raises(ZeroDivisionError):
        _batch_left_by_an_exception(svc)
    for _ in range(3 * 50):  # every pooled connection is back, out of pipeline mode
        with svc.db.hot() as r:
            assert not _in_pipeline(r)
            assert r.scalar("SELECT failures FROM login_throttle WHERE key = ?", "a") == 1


def test_a_batch_inside_a_write_transaction_sees_its_changes_and_commits_with_it(
    svc: Services,
) -> None:
    with svc.db.write() as s:
        s.add(LoginThrottle(key="new", failures=4, last_failure_at=datetime.now(UTC)))
        with svc.db.reader(s).batch() as b:
            seen = b.one("SELECT failures FROM login_throttle WHERE key = ?", "new")
            count = b.one("SELECT count(*) FROM login_throttle")
        assert seen.get() == (4,) and count.get() == (1,)
        s.get_one(LoginThrottle, "new").failures = 5
    with svc.db.read() as s:
        assert s.get_one(LoginThrottle, "new").failures == 5
