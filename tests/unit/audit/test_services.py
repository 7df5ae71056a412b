from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from threading import Event

import pytest
from sqlalchemy import Table, select, text

from thvc.audit import (
    AuditEvent,
    AuditHead,
    AuditHeadLost,
    AuditLog,
    AuditNotInitialised,
    canonical_bytes,
    ensure_head,
    event_hash,
    export,
    query,
    verify,
)
from thvc.db import Base, Database
from thvc.settings import Settings

# Base is shared by every package; the audit tables are the ones these tests touch.
TABLES: list[Table] = [Base.metadata.tables["audit_events"], Base.metadata.tables["audit_head"]]

audit = AuditLog()


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    """The suite's fresh, migrated database (SQLite or PostgreSQL, per the test pass)."""
    database = Database(settings)
    yield database
    database.dispose()


@pytest.fixture
def any_db(db: Database) -> Database:
    return db


def fill(db: Database, n: int, *, per_transaction: int = 10) -> None:
    """Record n events, several per transaction, tenants 1 and 2 alternating."""
    for start in range(1, n + 1, per_transaction):
        with db.write() as session:
            for i in range(start, min(start + per_transaction, n + 1)):
                audit.record(
                    session,
                    action="file.put",
                    tenant_id=1 + i % 2,
                    actor=f"user{i}@lauscha",
                    client="192.0.2.7",
                    target=f"/Documents/report-{i}.odt",
                    detail={"size": i * 100, "name": f"report-{i}.odt"},
                )


@pytest.fixture
def fifty(db: Database) -> Database:
    fill(db, 50)
    with db.read() as session:
        assert verify(session).ok
    return db


def check(db: Database) -> tuple[bool, int | None, str]:
    with db.read() as session:
        result = verify(session)
    return result.ok, result.first_bad_seq, result.reason or ""


def test_chain_of_fifty_events_verifies(fifty: Database) -> None:
    with fifty.read() as session:
        result = verify(session)
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        last_hash = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == 50))
    assert result.ok
    assert (result.checked, result.first_bad_seq, result.reason) == (50, None, None)
    assert seqs == list(range(1, 51))
    assert (result.head_seq, result.head_hash) == (50, last_hash)


def test_verify_pages_through_small_batches(fifty: Database) -> None:
    with fifty.read() as session:
        assert verify(session, batch_size=7).ok
        session.execute(text("DELETE FROM audit_events WHERE seq = 36"))
        result = verify(session, batch_size=7)
    assert (result.ok, result.checked, result.first_bad_seq) == (False, 35, 37)


def test_empty_log_verifies(db: Database) -> None:
    with db.read() as session:
        result = verify(session)
    assert (result.ok, result.checked, result.head_seq, result.head_hash) == (True, 0, 0, "0" * 64)


def test_edited_actor_is_named(fifty: Database) -> None:
    with fifty.write() as session:
        session.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 17"))
    ok, bad, reason = check(fifty)
    assert (ok, bad) == (False, 17)
    assert "hash does not match" in reason


def test_edited_event_with_recomputed_hash_breaks_the_next_link(fifty: Database) -> None:
    with fifty.write() as session:
        event = session.get(AuditEvent, 17)
        assert event is not None
        event.outcome = "denied"
        event.hash = event_hash(event)
    ok, bad, reason = check(fifty)
    assert (ok, bad) == (False, 18)
    assert "prev_hash" in reason


def test_deleted_middle_event_names_the_next(fifty: Database) -> None:
    with fifty.write() as session:
        session.execute(text("DELETE FROM audit_events WHERE seq = 25"))
    ok, bad, reason = check(fifty)
    assert (ok, bad) == (False, 26)
    assert "expected seq 25" in reason


def test_deleted_first_event_is_named(fifty: Database) -> None:
    with fifty.write() as session:
        session.execute(text("DELETE FROM audit_events WHERE seq = 1"))
    assert check(fifty)[:2] == (False, 2)


def test_deleted_last_event_shows_against_the_head(fifty: Database) -> None:
    with fifty.write() as session:
        session.execute(text("DELETE FROM audit_events WHERE seq = 50"))
    ok, bad, reason = check(fifty)
    assert (ok, bad) == (False, 50)
    assert "missing" in reason


def test_tail_cut_with_head_rewound_shows_if_head_is_anchored(fifty: Database) -> None:
    with fifty.read() as session:
        anchored = verify(session).head_hash
    with fifty.write() as session:
        forty = session.get(AuditEvent, 40)
        assert forty is not None
        session.execute(text("DELETE FROM audit_events WHERE seq > 40"))
        session.execute(
            text("UPDATE audit_head SET seq = 40, hash = :h WHERE id = 1"), {"h": forty.hash}
        )
    with fifty.read() as session:
        result = verify(session)
    # Internally consistent again: only a head hash kept elsewhere tells.
    assert result.ok
    assert result.head_hash != anchored


def test_swapped_events_are_detected(fifty: Database) -> None:
    columns = ["at", "tenant_id", "actor", "client", "action", "target", "outcome", "detail"]
    columns += ["prev_hash", "hash"]
    with fifty.write() as session:
        a, b = session.get(AuditEvent, 10), session.get(AuditEvent, 20)
        assert a is not None
        assert b is not None
        for name in columns:
            va, vb = getattr(a, name), getattr(b, name)
            setattr(a, name, vb)
            setattr(b, name, va)
    assert check(fifty)[:2] == (False, 10)


def test_swapped_neighbours_are_detected(fifty: Database) -> None:
    # Renumber 30 <-> 31 so each keeps its own content under the other's seq.
    with fifty.write() as session:
        session.execute(text("UPDATE audit_events SET seq = 1000 WHERE seq = 30"))
        session.execute(text("UPDATE audit_events SET seq = 30 WHERE seq = 31"))
        session.execute(text("UPDATE audit_events SET seq = 31 WHERE seq = 1000"))
    assert check(fifty)[:2] == (False, 30)


def forge(seq: int, prev_hash: str) -> AuditEvent:
    event = AuditEvent(
        seq=seq,
        at=datetime.now(UTC),
        tenant_id=1,
        actor="mallory@lauscha",
        action="login",
        outcome="success",
        detail="{}",
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    return event


def test_forged_event_appended_is_detected(fifty: Database) -> None:
    with fifty.write() as session:
        last = session.get(AuditEvent, 50)
        assert last is not None
        session.add(forge(51, last.hash))
    ok, bad, reason = check(fifty)
    assert (ok, bad) == (False, 51)
    assert "beyond the head" in reason


def test_forged_event_inserted_in_the_middle_is_detected(fifty: Database) -> None:
    with fifty.write() as session:
        # Make room at 26 (in two steps so the primary key never collides).
        session.execute(text("UPDATE audit_events SET seq = seq + 1000 WHERE seq > 25"))
        session.execute(text("UPDATE audit_events SET seq = seq - 999 WHERE seq > 1000"))
        prev = session.get(AuditEvent, 25)
        assert prev is not None
        session.add(forge(26, prev.hash))
        session.execute(text("UPDATE audit_head SET seq = 51 WHERE id = 1"))
    # The forgery itself links up; the event pushed to 27 no longer hashes right.
    assert check(fifty)[:2] == (False, 27)


def test_tampered_head_hash_is_detected(fifty: Database) -> None:
    with fifty.write() as session:
        session.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": "f" * 64})
    ok, bad, reason = check(fifty)
    assert (ok, bad) == (False, 50)
    assert "head" in reason


def test_deleted_head_is_detected_and_not_silently_recreated(fifty: Database) -> None:
    with fifty.write() as session:
        session.execute(text("DELETE FROM audit_head"))
    ok, bad, reason = check(fifty)
    assert (ok, bad) == (False, None)
    assert "head row is missing" in reason
    with pytest.raises(AuditHeadLost), fifty.write() as session:
        ensure_head(session)
    with pytest.raises(AuditNotInitialised), fifty.write() as session:
        audit.record(session, action="login")


def test_ensure_head_is_idempotent(db: Database) -> None:
    fill(db, 3)
    with db.write() as session:
        ensure_head(session)
    with db.read() as session:
        result = verify(session)
    assert (result.ok, result.head_seq) == (True, 3)


def test_record_without_head_says_so(tmp_path: Path) -> None:
    db = Database(Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/b.db"))
    Base.metadata.create_all(db.engine, tables=TABLES)
    try:
        with pytest.raises(AuditNotInitialised, match="ensure_head"), db.write() as session:
            audit.record(session, action="login")
    finally:
        db.dispose()


def test_record_rolls_back_with_the_callers_transaction(db: Database) -> None:
    fill(db, 2)

    def delete_tenant() -> None:
        with db.write() as session:
            audit.record(session, action="tenant.delete", actor="system")
            raise RuntimeError("the change being audited failed")

    with pytest.raises(RuntimeError):
        delete_tenant()
    fill(db, 1)
    with db.read() as session:
        result = verify(session)
        actions = [e.action for e in query(session)]
    assert (result.ok, result.head_seq) == (True, 3)
    assert "tenant.delete" not in actions


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"action": ""}, "action"),
        ({"action": "x" * 65}, "action"),
        ({"action": "login", "outcome": "ok"}, "outcome"),
        ({"action": "login", "detail": {"when": datetime.now(UTC)}}, "detail"),
        ({"action": "login", "detail": {"x": float("nan")}}, "detail"),
        ({"action": "login", "detail": {"x": "\udc80"}}, "detail"),
    ],
)
def test_record_refuses_bad_arguments(
    db: Database, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message), db.write() as session:
        audit.record(session, **kwargs)  # type: ignore[arg-type]
    with db.read() as session:
        assert verify(session).head_seq == 0


def test_hostile_actor_is_stored_cleaned_and_verifies(db: Database) -> None:
    with db.write() as session:
        event = audit.record(
            session, action="login", outcome="failure", actor="a\x00b\udc80" + "x" * 400
        )
    assert event.actor is not None
    assert event.actor.startswith("a\ufffdb?")
    assert len(event.actor) == 320
    assert check(db)[0]


def test_hash_is_sha256_of_canonical_bytes(db: Database) -> None:
    with db.write() as session:
        event = audit.record(
            session, action="share.create", tenant_id=7, detail={"b": 1, "a": "Größe"}
        )
    # A fresh session, so that what is checked is what was stored.
    with db.read() as session:
        stored = session.get(AuditEvent, event.seq)
        assert stored is not None
        session.expunge(stored)
    assert stored.detail == '{"a":"Größe","b":1}'
    data = canonical_bytes(
        seq=1,
        at=stored.at,
        tenant_id=7,
        actor=None,
        client=None,
        action="share.create",
        target=None,
        outcome="success",
        detail=stored.detail,
        prev_hash="0" * 64,
    )
    doc = json.loads(data)
    assert list(doc) == sorted(doc)
    assert doc["at"].endswith("+00:00")
    assert len(doc["at"].split(".")[1]) == len("123456+00:00")
    assert b" " not in data
    assert "Größe".encode() in data
    assert stored.hash == hashlib.sha256(data).hexdigest()
    assert stored.prev_hash == "0" * 64


def test_concurrent_writers_keep_one_chain(any_db: Database) -> None:
    done = Event()

    def writer(n: int) -> None:
        for i in range(25):
            with any_db.write() as session:
                audit.record(
                    session, action="file.put", tenant_id=n, actor=f"w{n}", detail={"i": i}
                )

    def checker() -> int:
        runs = 0
        while not done.is_set() or runs == 0:
            with any_db.read() as session:
                result = verify(session, batch_size=10)
            assert result.ok, result
            runs += 1
        return runs

    with ThreadPoolExecutor(max_workers=5) as pool:
        checking = pool.submit(checker)
        writers = [pool.submit(writer, n) for n in range(4)]
        for future in writers:
            future.result()
        done.set()
        assert checking.result() >= 1

    with any_db.read() as session:
        result = verify(session)
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        head_seq = session.scalar(select(AuditHead.seq))
    assert (result.ok, result.checked) == (True, 100)
    assert seqs == list(range(1, 101))
    assert head_seq == 100


def test_export_writes_every_event_and_filters_by_tenant(db: Database) -> None:
    fill(db, 100)
    out = io.StringIO()
    with db.read() as session:
        assert export(session, out, batch_size=7) == 100
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, 101))
    assert set(lines[0]) == {
        "seq", "at", "tenant_id", "actor", "client", "action", "target", "outcome",
        "detail", "prev_hash", "hash",
    }  # fmt: skip
    assert lines[0]["detail"] == {"name": "report-1.odt", "size": 100}
    # An exported line is enough to recheck its hash, and the lines chain up.
    for prev, line in zip([{"hash": "0" * 64}, *lines], lines, strict=False):
        assert line["prev_hash"] == prev["hash"]
        data = canonical_bytes(
            **{k: v for k, v in line.items() if k not in {"hash", "at", "detail"}},
            at=datetime.fromisoformat(line["at"]),
            detail=json.dumps(line["detail"], sort_keys=True, separators=(",", ":")),
        )
        assert hashlib.sha256(data).hexdigest() == line["hash"]

    out = io.StringIO()
    with db.read() as session:
        assert export(session, out, tenant_id=2) == 50
    assert {json.loads(line)["tenant_id"] for line in out.getvalue().splitlines()} == {2}


def test_export_filters_by_time(db: Database) -> None:
    fill(db, 10)
    with db.read() as session:
        ats = list(session.scalars(select(AuditEvent.at).order_by(AuditEvent.seq)))
        out = io.StringIO()
        assert export(session, out, since=ats[3], until=ats[7]) == sum(
            ats[3] <= at < ats[7] for at in ats
        )
        assert export(session, io.StringIO(), since=ats[-1] + timedelta(seconds=1)) == 0
        with pytest.raises(ValueError, match="since"):
            export(session, io.StringIO(), since=datetime(2024, 1, 1))


def test_query_is_newest_first_and_pages(db: Database) -> None:
    fill(db, 30)
    with db.write() as session:
        audit.record(session, action="login", actor="anna@lauscha", outcome="failure")
    # db.read() rolls back on exit, which expires loaded entities: use them inside.
    with db.read() as session:
        newest = query(session, limit=5)
        older = query(session, limit=5, before_seq=newest[-1].seq)
        tenant_two = query(session, tenant_id=2, limit=1000)
        logins = query(session, action="login")
        anna = query(session, actor="anna@lauscha")
        with pytest.raises(ValueError, match="limit"):
            query(session, limit=0)
        assert [e.seq for e in newest] == [31, 30, 29, 28, 27]
        assert [e.seq for e in older] == [26, 25, 24, 23, 22]
        assert len(tenant_two) == 15
        assert all(e.tenant_id == 2 for e in tenant_two)
        assert [e.seq for e in logins] == [e.seq for e in anna] == [31]


@pytest.mark.parametrize(
    "text",
    [None, "", "plain", 'quote " and \\ backslash', "Größe\u2028\n\t\x01", "\ufffd" * 3, "{}"],
)
def test_canonical_bytes_are_the_sorted_compact_json_of_the_event(text: str | None) -> None:
    at = datetime(2026, 12, 7, 16, 0, 1, 5, tzinfo=UTC)
    fields = {
        "seq": 12_345_678_901,
        "at": at,
        "tenant_id": 7 if text else None,
        "actor": text,
        "client": text,
        "action": "file.put",
        "target": text,
        "outcome": "success",
        "detail": '{"a":"Größe","b":1}',
        "prev_hash": "ab" * 32,
    }
    doc = {**fields, "at": "2026-12-07T16:00:01.000005+00:00"}
    expected = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert canonical_bytes(**fields) == expected.encode()  # type: ignore[arg-type]


def test_an_open_transaction_that_recorded_an_event_holds_up_no_other_writer(
    db: Database,
) -> None:
    """PostgreSQL appends at commit (the head is locked for the server's time only);
    SQLite has one writer at a time anyway."""
    if db.is_sqlite:
        pytest.skip("SQLite lets one transaction write at a time")
    recorded, other_done = Event(), Event()

    def slow_writer() -> None:
        with db.write() as session:
            audit.record(session, action="file.put", actor="slow")
            recorded.set()
            assert other_done.wait(30), "the other writer waited for this transaction"

    def quick_writer() -> None:
        assert recorded.wait(30)
        with db.write() as session:
            audit.record(session, action="file.put", actor="quick")
        other_done.set()

    with ThreadPoolExecutor(max_workers=2) as pool:
        slow, quick = pool.submit(slow_writer), pool.submit(quick_writer)
        quick.result(timeout=60)
        slow.result(timeout=60)
    with db.read() as session:
        result = verify(session)
        actors = session.scalars(select(AuditEvent.actor).order_by(AuditEvent.seq)).all()
    assert (result.ok, result.head_seq) == (True, 2)
    assert actors == ["quick", "slow"]  # in the order of their commits
