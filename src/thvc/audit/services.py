"""Recording, verifying and exporting the hash-chained audit trail.

Every event's ``hash`` is the SHA-256 of :func:`canonical_bytes`, which covers
its ``seq`` and the previous event's hash, so editing, deleting, inserting or
reordering events breaks the chain; the head row names the last event, so
cutting off the tail shows too. Whoever can rewrite the whole table *and* the
head can still forge a consistent chain: anchor ``VerifyResult.head_hash``
somewhere else (a daily log line, a ticket) to catch that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from sqlalchemy import ColumnElement, Row, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from thvc.audit.errors import AuditHeadLost, AuditNotInitialised
from thvc.audit.models import GENESIS_HASH, HEAD_ID, OUTCOMES, AuditEvent, AuditHead
from thvc.db.hot import Row as TupleRow
from thvc.db.hot import at_commit, session_reader
from thvc.db.types import utcnow

ACTION_MAX = 64
ACTOR_MAX = 320
CLIENT_MAX = 64
QUERY_LIMIT_MAX = 1000
BATCH_SIZE = 1000

# Plain columns, not entities: verify and export touch every row once, and
# Rows skip the identity map.
_COLUMNS = (
    AuditEvent.seq,
    AuditEvent.at,
    AuditEvent.tenant_id,
    AuditEvent.actor,
    AuditEvent.client,
    AuditEvent.action,
    AuditEvent.target,
    AuditEvent.outcome,
    AuditEvent.detail,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)
_EventRow = Row[*tuple[Any, ...]]


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("audit timestamps must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_detail(detail: Mapping[str, Any] | None) -> str:
    """The canonical JSON text stored in ``AuditEvent.detail``; raises ValueError if not JSON."""
    try:
        text = json.dumps(
            dict(detail or {}),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        )
        # ensure_ascii=False lets lone surrogates through; neither UTF-8 nor the hash takes them.
        text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"audit detail is not canonical JSON: {exc}") from None
    return text


def _text(value: str | int | None) -> str:
    return json.dumps(value, ensure_ascii=False)


def canonical_parts(
    *,
    at: datetime,
    tenant_id: int | None,
    actor: str | None,
    client: str | None,
    action: str,
    target: str | None,
    outcome: str,
    detail: str,
) -> tuple[str, str]:
    """The canonical text of an event around its chain fields: ``before + prev_hash +
    '","seq":' + str(seq) + after`` (see :func:`canonical_bytes`).

    A writer on PostgreSQL sends the two parts and lets the server put the head's hash
    and number between them as it appends (:meth:`AuditLog.record`).
    """
    # The keys of a JSON object with sorted keys, without spaces: json.dumps(doc,
    # sort_keys=True, separators=(",", ":"), ensure_ascii=False) would give the same.
    before = (
        f'{{"action":{_text(action)},"actor":{_text(actor)},"at":{_text(_iso(at))},'
        f'"client":{_text(client)},"detail":{_text(detail)},"outcome":{_text(outcome)},'
        '"prev_hash":"'
    )
    after = f',"target":{_text(target)},"tenant_id":{_text(tenant_id)}}}'
    return before, after


def canonical_bytes(
    *,
    seq: int,
    at: datetime,
    tenant_id: int | None,
    actor: str | None,
    client: str | None,
    action: str,
    target: str | None,
    outcome: str,
    detail: str,
    prev_hash: str,
) -> bytes:
    """The bytes an event's hash is taken over; ``detail`` is the stored JSON text.

    The event as a JSON object with sorted keys and no spaces (``prev_hash`` is
    hexadecimal and ``seq`` an integer: neither needs escaping).
    """
    before, after = canonical_parts(
        at=at,
        tenant_id=tenant_id,
        actor=actor,
        client=client,
        action=action,
        target=target,
        outcome=outcome,
        detail=detail,
    )
    return f'{before}{prev_hash}","seq":{seq}{after}'.encode()


def event_hash(event: AuditEvent | _EventRow) -> str:
    """Recompute the hash of a stored event (an entity or a row of its columns)."""
    data = canonical_bytes(
        seq=event.seq,
        at=event.at,
        tenant_id=event.tenant_id,
        actor=event.actor,
        client=event.client,
        action=event.action,
        target=event.target,
        outcome=event.outcome,
        detail=event.detail,
        prev_hash=event.prev_hash,
    )
    return hashlib.sha256(data).hexdigest()


def _clean(value: str | None, limit: int | None = None) -> str | None:
    """Make caller text storable rather than refuse it.

    A failed login must be recorded even when the user name is hostile: NUL is
    refused by PostgreSQL, lone surrogates by UTF-8, and an over-long name by
    the column, so they are replaced or cut instead of failing the transaction.
    """
    if value is None:
        return None
    value = value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return value if limit is None else value[:limit]


def ensure_head(session: Session) -> None:
    """Create the genesis head row (seq 0) if it is missing; run once at start-up.

    Idempotent, and two processes racing here both succeed. Raises
    :class:`AuditHeadLost` if events exist without a head: recreating it would
    restart the chain at seq 1 and hide whatever removed it.
    """
    if session.execute(select(AuditHead.id).where(AuditHead.id == HEAD_ID)).first() is not None:
        return
    last = session.execute(select(func.max(AuditEvent.seq))).scalar()
    if last is not None:
        raise AuditHeadLost(last)
    values = {"id": HEAD_ID, "seq": 0, "hash": GENESIS_HASH}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(
            postgresql.insert(AuditHead)
            .values(values)
            .on_conflict_do_nothing(index_elements=["id"])
        )
    elif dialect == "sqlite":
        session.execute(
            sqlite.insert(AuditHead).values(values).on_conflict_do_nothing(index_elements=["id"])
        )
    else:
        session.execute(insert(AuditHead).values(values))


class AuditLog:
    """Appends events to the chain inside the caller's write transaction."""

    def record(
        self,
        session: Session,
        *,
        action: str,
        outcome: str = "success",
        tenant_id: int | None = None,
        actor: str | None = None,
        client: str | None = None,
        target: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one event and advance the head; both commit or roll back with the caller.

        ``session`` must be in a write transaction (``Database.write()``): the
        head row is locked until commit, so writers append one at a time. On
        PostgreSQL the event is appended as the transaction commits (see
        :meth:`_append_at_commit`): its ``seq``, ``prev_hash`` and ``hash`` are set
        then, and it is not visible to reads of the transaction itself.
        Raises ValueError for an empty or over-long ``action``, an unknown
        ``outcome`` or a ``detail`` that is not JSON, and
        :class:`AuditNotInitialised` if :func:`ensure_head` never ran.
        """
        if not action or len(action) > ACTION_MAX:
            raise ValueError(f"audit action must be 1 to {ACTION_MAX} characters")
        if outcome not in OUTCOMES:
            raise ValueError(f"audit outcome must be one of {sorted(OUTCOMES)}, not {outcome!r}")
        detail_text = canonical_detail(detail)

        event = AuditEvent(
            at=utcnow(),
            tenant_id=tenant_id,
            actor=_clean(actor, ACTOR_MAX),
            client=_clean(client, CLIENT_MAX),
            action=action,
            target=_clean(target),
            outcome=outcome,
            detail=detail_text,
        )
        if session.get_bind().dialect.name == "postgresql":
            self._append_at_commit(session, event)
        else:
            self._append_now(session, event)
        return event

    @staticmethod
    def _append_at_commit(session: Session, event: AuditEvent) -> None:
        """PostgreSQL: one statement, the transaction's last, sent with its COMMIT.

        Every writer appends to the one chain, so the head row is locked until commit.
        Taken mid-transaction (select the head, hash in Python, insert, update the head,
        the rest of the transaction, commit) the lock spanned four round trips and the
        waits of this thread for the GIL between them: under a few thousand sync clients
        writes queued on it for seconds. The server puts the head's number and hash
        between the canonical text's two parts and hashes it (``sha256``, PostgreSQL
        11+): the same bytes as :func:`canonical_bytes`, so verification is unchanged.
        Without a head the insert's ``seq`` is NULL and the whole transaction fails.
        """
        before, after = canonical_parts(
            at=event.at,
            tenant_id=event.tenant_id,
            actor=event.actor,
            client=event.client,
            action=event.action,
            target=event.target,
            outcome=event.outcome,
            detail=event.detail,
        )

        def appended(row: TupleRow | None) -> None:
            if row is not None:
                event.seq, event.prev_hash, event.hash = row

        at_commit(
            session,
            _APPEND,
            HEAD_ID,
            event.at,
            event.tenant_id,
            event.actor,
            event.client,
            event.action,
            event.target,
            event.outcome,
            event.detail,
            before,
            after,
            HEAD_ID,
            then=appended,
            explain=_head_missing,
        )

    @staticmethod
    def _append_now(session: Session, event: AuditEvent) -> None:
        """SQLite: BEGIN IMMEDIATE already holds the database's write lock; no trip to save."""
        r = session_reader(session)
        head = r.one("SELECT seq, hash FROM audit_head WHERE id = ?", HEAD_ID)
        if head is None:
            raise AuditNotInitialised()
        event.seq = head[0] + 1
        event.prev_hash = head[1]
        event.hash = event_hash(event)
        r.run(
            "INSERT INTO audit_events (seq, at, tenant_id, actor, client, action, target,"
            " outcome, detail, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            event.seq,
            r.bind_ts(event.at),
            event.tenant_id,
            event.actor,
            event.client,
            event.action,
            event.target,
            event.outcome,
            event.detail,
            event.prev_hash,
            event.hash,
        )
        r.run(
            "UPDATE audit_head SET seq = ?, hash = ? WHERE id = ?", event.seq, event.hash, HEAD_ID
        )
        # An AuditHead the session loaded before would now be stale.
        for obj in list(session.identity_map.values()):
            if isinstance(obj, AuditHead):
                session.expire(obj)


def _head_missing(exc: Exception) -> Exception | None:
    """The append's NULL ``seq`` (no head row) as what it means.

    Told by the error's SQLSTATE and fields, not its message (which follows the server's
    language setting).
    """
    diag = getattr(exc, "diag", None)
    if (
        getattr(exc, "sqlstate", None) == "23502"  # not_null_violation
        and getattr(diag, "table_name", None) == "audit_events"
        and getattr(diag, "column_name", None) == "seq"
    ):
        return AuditNotInitialised()
    return None


# The append of :meth:`AuditLog._append_at_commit`: lock the head, insert the next event
# with its hash computed by the server, advance the head. A missing head leaves h empty
# and the LEFT JOIN a NULL seq, which the primary key refuses.
_APPEND = """\
WITH h AS (SELECT seq, hash FROM audit_head WHERE id = ? FOR UPDATE),
e AS (
  INSERT INTO audit_events
    (seq, at, tenant_id, actor, client, action, target, outcome, detail, prev_hash, hash)
  SELECT h.seq + 1, CAST(? AS timestamptz), CAST(? AS integer), CAST(? AS varchar),
    CAST(? AS varchar), CAST(? AS varchar), CAST(? AS text), CAST(? AS varchar),
    CAST(? AS text), h.hash,
    encode(sha256(convert_to(
      CAST(? AS text) || h.hash || '","seq":' || CAST(h.seq + 1 AS text) || CAST(? AS text),
      'UTF8')), 'hex')
  FROM (SELECT 1) AS one LEFT JOIN h ON true
  RETURNING seq, prev_hash, hash
)
UPDATE audit_head SET seq = e.seq, hash = e.hash FROM e WHERE audit_head.id = ?
RETURNING e.seq, e.prev_hash, e.hash"""


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`; ``head_*`` are worth keeping outside the database."""

    ok: bool
    checked: int
    first_bad_seq: int | None
    reason: str | None
    head_seq: int | None = None
    head_hash: str | None = None


def _rows(
    session: Session,
    *,
    after: int,
    upto: int | None = None,
    where: Sequence[ColumnElement[bool]] = (),
    batch_size: int = BATCH_SIZE,
) -> Iterator[_EventRow]:
    """Events with ``after < seq <= upto`` in seq order, fetched in keyset batches."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    last = after
    while True:
        stmt = select(*_COLUMNS).where(AuditEvent.seq > last, *where)
        if upto is not None:
            stmt = stmt.where(AuditEvent.seq <= upto)
        rows = session.execute(stmt.order_by(AuditEvent.seq).limit(batch_size)).all()
        yield from rows
        if len(rows) < batch_size:
            return
        last = rows[-1].seq


class _Chain:
    """The walk's position: the last good event's seq and hash."""

    def __init__(self) -> None:
        self.seq = 0
        self.hash = GENESIS_HASH

    def step(self, row: _EventRow) -> str | None:
        """Accept the next event or say what is wrong with it."""
        if row.seq != self.seq + 1:
            return f"expected seq {self.seq + 1}, found {row.seq}: events deleted or renumbered"
        if event_hash(row) != row.hash:
            return "hash does not match the event's content: edited or moved"
        if row.prev_hash != self.hash:
            before = f"event {self.seq}" if self.seq else "the genesis hash"
            return f"prev_hash does not match {before}: an event was removed or replaced"
        self.seq = row.seq
        self.hash = row.hash
        return None


def verify(session: Session, *, batch_size: int = BATCH_SIZE) -> VerifyResult:
    """Walk the chain from seq 1 and check it against the head; stops at the first fault.

    ``checked`` counts the events found good. Use a read session; on PostgreSQL
    writers may append meanwhile, which is allowed for: the head is read after
    the walk, and a head that moved on is followed up to where it points.
    """
    chain = _Chain()
    for row in _rows(session, after=0, batch_size=batch_size):
        if (reason := chain.step(row)) is not None:
            return VerifyResult(False, chain.seq, row.seq, reason)

    head = session.execute(
        select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == HEAD_ID)
    ).one_or_none()
    if head is None:
        return VerifyResult(False, chain.seq, None, "the audit head row is missing")

    def bad(first_bad_seq: int | None, reason: str) -> VerifyResult:
        return VerifyResult(False, chain.seq, first_bad_seq, reason, head.seq, head.hash)

    if chain.seq > head.seq:
        # Each commit moves the head with its event, so a head read after seeing
        # an event is never behind it: these rows were added by hand.
        return VerifyResult(
            False,
            head.seq,
            head.seq + 1,
            f"events after seq {head.seq} lie beyond the head: inserted without it",
            head.seq,
            head.hash,
        )
    if chain.seq < head.seq:
        for row in _rows(session, after=chain.seq, upto=head.seq, batch_size=batch_size):
            if (reason := chain.step(row)) is not None:
                return bad(row.seq, reason)
    if chain.seq < head.seq:
        return bad(
            chain.seq + 1,
            f"events {chain.seq + 1} to {head.seq} are missing: the head names seq {head.seq}",
        )
    if chain.hash != head.hash:
        return bad(head.seq or None, f"the head's hash does not match event {head.seq}")
    return VerifyResult(True, chain.seq, None, None, head.seq, head.hash)


def _export_line(row: _EventRow) -> str:
    try:
        detail: Any = json.loads(row.detail)
    except ValueError:
        # A damaged detail is still exported, verbatim, so the hash can be checked.
        detail = row.detail
    doc = {
        "seq": row.seq,
        "at": _iso(row.at),
        "tenant_id": row.tenant_id,
        "actor": row.actor,
        "client": row.client,
        "action": row.action,
        "target": row.target,
        "outcome": row.outcome,
        "detail": detail,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"


def export(
    session: Session,
    out: TextIO,
    *,
    tenant_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    batch_size: int = BATCH_SIZE,
) -> int:
    """Write events as JSON lines in seq order and return how many; ``since <= at < until``.

    Each line carries both hashes, so every event can be rechecked on its own
    (``detail`` is parsed; re-encode it with :func:`canonical_detail`), and an
    unfiltered export can be rechecked as a chain.
    """
    where: list[ColumnElement[bool]] = []
    if tenant_id is not None:
        where.append(AuditEvent.tenant_id == tenant_id)
    if since is not None:
        where.append(AuditEvent.at >= _aware(since, "since"))
    if until is not None:
        where.append(AuditEvent.at < _aware(until, "until"))
    count = 0
    for row in _rows(session, after=0, where=where, batch_size=batch_size):
        out.write(_export_line(row))
        count += 1
    return count


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value.astimezone(UTC)


def query(
    session: Session,
    *,
    tenant_id: int | None = None,
    actor: str | None = None,
    action: str | None = None,
    limit: int = 100,
    before_seq: int | None = None,
) -> list[AuditEvent]:
    """Events matching every given filter, newest first; page on with ``before_seq``."""
    if not 1 <= limit <= QUERY_LIMIT_MAX:
        raise ValueError(f"limit must be 1 to {QUERY_LIMIT_MAX}")
    stmt = select(AuditEvent)
    if tenant_id is not None:
        stmt = stmt.where(AuditEvent.tenant_id == tenant_id)
    if actor is not None:
        stmt = stmt.where(AuditEvent.actor == actor)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    return list(session.scalars(stmt.order_by(AuditEvent.seq.desc()).limit(limit)))
