"""Statements left for the end of a write transaction (thvc.db.hot.at_commit)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from thvc.accounts.models import LoginThrottle
from thvc.db.hot import Row, at_commit
from thvc.services import Services

_BUMP = "UPDATE login_throttle SET failures = failures + ? WHERE key = ? RETURNING failures"


def _failures(svc: Services, key: str) -> int | None:
    with svc.db.read() as s:
        return s.scalar(select(LoginThrottle.failures).where(LoginThrottle.key == key))


def test_the_tail_runs_after_the_transaction_body_and_commits_with_it(svc: Services) -> None:
    seen: list[Row | None] = []
    with svc.db.write() as s:
        s.add(LoginThrottle(key="k", failures=1, last_failure_at=datetime.now(UTC)))
        # Left before the row exists in the database: it runs after the body's flush.
        at_commit(s, _BUMP, 10, "k", then=seen.append)
        at_commit(s, _BUMP, 100, "k", then=seen.append)
        assert seen == []
    assert seen == [(11,), (111,)]
    assert _failures(svc, "k") == 111


def test_a_rolled_back_transaction_runs_no_tail(svc: Services) -> None:
    with svc.db.write() as s:
        s.add(LoginThrottle(key="k", failures=1, last_failure_at=datetime.now(UTC)))
    seen: list[Row | None] = []

    def failing() -> None:
        with svc.db.write() as s:
            at_commit(s, _BUMP, 10, "k", then=seen.append)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing()
    # Nor does the next transaction of a session that was given the same connection.
    with svc.db.write() as s:
        s.get_one(LoginThrottle, "k").failures = 2
    assert seen == []
    assert _failures(svc, "k") == 2


def test_a_failing_tail_rolls_back_everything_and_may_explain_itself(svc: Services) -> None:
    class Clearer(Exception):
        pass

    def explain(exc: Exception) -> Exception | None:
        return Clearer() if "login_throttle" in str(exc) else None

    def failing() -> None:
        with svc.db.write() as s:
            s.add(LoginThrottle(key="a", failures=1, last_failure_at=datetime.now(UTC)))
            # NOT NULL violated: the commit fails, and the row added before goes too.
            at_commit(
                s, "UPDATE login_throttle SET failures = NULL WHERE key = ?", "a", explain=explain
            )

    with pytest.raises(Clearer):
        failing()
    assert _failures(svc, "a") is None
    # The connection went back to the pool usable (not left in pipeline mode).
    for _ in range(3):
        with svc.db.write() as s:
            s.merge(LoginThrottle(key="b", failures=1, last_failure_at=datetime.now(UTC)))
            at_commit(s, _BUMP, 1, "b")
    assert _failures(svc, "b") == 2


def test_a_session_committed_by_hand_still_runs_its_tail(svc: Services) -> None:
    with Session(svc.db.engine) as s:
        s.add(LoginThrottle(key="k", failures=1, last_failure_at=datetime.now(UTC)))
        at_commit(s, _BUMP, 5, "k")
        s.commit()
    assert _failures(svc, "k") == 6
