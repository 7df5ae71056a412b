"""Plain SQL for the reads every request makes, on the pooled DBAPI connection.

A WebDAV request checks a credential, finds the caller's spaces and mounts, and reads a
node and a key. SQLite answers each of those statements in 5-10 µs; SQLAlchemy spends
60-100 µs of Python around each one (building the expression, its cache key, the result
and ORM objects), which made it most of a small request's cost. These few reads are
written as SQL with ``?`` placeholders and run on the DBAPI cursor directly: either in a
read snapshot of their own (:meth:`thvc.db.engine.Database.hot`) or inside an ORM
transaction, on the session's own connection (:meth:`thvc.db.engine.Database.reader`).
Everything else stays with the ORM, and every write but two counters (the bytes a space and
a tenant use) and the etags of a file's folders, which no ORM object of the transaction
reads again.

Reads that do not depend on each other go out together in a :class:`Batch`: on PostgreSQL
one round trip for all of them (pipeline mode), so that a sync client's poll costs four
round trips instead of nine.

A write transaction may also leave statements for its very end (:func:`at_commit`): they
travel with the COMMIT, so a row they lock is held for no round trip of the client's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

from sqlalchemy import Dialect, event
from sqlalchemy.orm import Session, SessionTransaction

from thvc.db.types import UTCDateTime

Row = tuple[Any, ...]
T = TypeVar("T")
U = TypeVar("U")


def marks(n: int) -> str:
    """``?, ?, ?`` for an ``IN (...)`` of ``n`` values."""
    return ", ".join("?" * n)


class Reader:
    """A DBAPI cursor with the dialect's placeholders and datetime conversions."""

    __slots__ = ("_cursor", "_pg", "_ts_in", "_ts_out", "_writable")

    def __init__(
        self,
        cursor: Any,
        *,
        pg: bool,
        ts_in: Callable[[Any], Any],
        ts_out: Callable[[Any], Any],
        writable: bool = True,
    ) -> None:
        self._cursor = cursor
        self._writable = writable
        self._pg = pg
        self._ts_in = ts_in
        self._ts_out = ts_out

    def all(self, sql: str, *params: Any) -> list[Row]:
        # psycopg takes %s (and a literal % doubled); none of these statements has one.
        self._cursor.execute(sql.replace("?", "%s") if self._pg else sql, params)
        return list(self._cursor.fetchall())

    def one(self, sql: str, *params: Any) -> Row | None:
        self._cursor.execute(sql.replace("?", "%s") if self._pg else sql, params)
        row = self._cursor.fetchone()
        return tuple(row) if row is not None else None

    def scalar(self, sql: str, *params: Any) -> Any:
        row = self.one(sql, *params)
        return row[0] if row is not None else None

    @property
    def connection(self) -> Any:
        """The DBAPI connection the reads run on."""
        return self._cursor.connection

    @property
    def postgres(self) -> bool:
        """PostgreSQL (row locks with ``FOR UPDATE``), not SQLite."""
        return self._pg

    def run(self, sql: str, *params: Any) -> int:
        """A statement without rows (an UPDATE, say); returns the rows it changed.

        Only for columns no ORM object of the session holds (or will read again):
        the session does not see what this changes. Refused outside a write transaction
        (:meth:`thvc.db.engine.Database.hot`: on PostgreSQL it runs without one).
        """
        if not self._writable:
            raise RuntimeError("a read snapshot does not write")
        self._cursor.execute(sql.replace("?", "%s") if self._pg else sql, params)
        return int(self._cursor.rowcount)

    def batch(self) -> Batch:
        """Reads that do not depend on each other, sent together (see :class:`Batch`)."""
        return Batch(self)

    @property
    def ts_out(self) -> Callable[[Any], Any]:
        """The engine's conversion of a non-NULL datetime column value (:meth:`ts`); the
        same function for every reader of an engine, so it may key a cache."""
        return self._ts_out

    def ts(self, value: Any) -> datetime | None:
        """A datetime column's value as an aware UTC datetime, as the ORM would give it."""
        return self._ts_out(value) if value is not None else None

    def bind_ts(self, value: datetime) -> Any:
        """An aware datetime as a parameter compared with a datetime column."""
        return self._ts_in(value)


class Later(Generic[T]):
    """The result of a read in a :class:`Batch`: there once the batch has run."""

    __slots__ = ("_batch", "_fetch", "_ready", "_value")

    def __init__(self, batch: Batch, fetch: Callable[[], T]) -> None:
        self._batch = batch
        self._fetch = fetch
        self._ready = False
        self._value: T | None = None

    def get(self) -> T:
        """The value; runs the batch first if it has not run (one round trip for all)."""
        if not self._ready:
            self._batch.run()
            self._value = self._fetch()
            self._ready = True
        return self._value  # type: ignore[return-value]  # set above (T may be None)

    @classmethod
    def known(cls, batch: Batch, value: T) -> Later[T]:
        """A value that needs no read (a module with nothing to add to the batch)."""
        return cls(batch, lambda: value)

    def then(self, decode: Callable[[T], U]) -> Later[U]:
        """The value passed through ``decode``, when it is asked for."""
        return Later(self._batch, lambda: decode(self.get()))


class Batch:
    """Reads sent one after another without waiting for each answer.

    Each statement of a request was a round trip to PostgreSQL: a switch to its backend
    and back, which on a busy machine costs far more than the statement. Reads that do
    not depend on each other's results are queued here and travel together in
    PostgreSQL's pipeline mode: one round trip for all of them. A module adds its reads
    and hands back :class:`Later` values, so reads of several modules share the trip.
    On SQLite (in-process: no trip to save) each read runs as it is added.

    Used as a context manager: leaving the block runs what is queued, so the
    connection never goes back to the pool in pipeline mode, even after an error.
    """

    __slots__ = ("_pipeline", "_reader")

    def __init__(self, reader: Reader) -> None:
        self._reader = reader
        self._pipeline: AbstractContextManager[Any] | None = None

    @property
    def reader(self) -> Reader:
        """The reader the batch sends on (for its conversions: ``ts``, ``bind_ts``)."""
        return self._reader

    def all(self, sql: str, *params: Any) -> Later[list[Row]]:
        r = self._reader
        if not r.postgres:
            return Later.known(self, r.all(sql, *params))
        conn = r.connection
        if self._pipeline is None:
            self._pipeline = conn.pipeline()
            self._pipeline.__enter__()
        cursor = conn.cursor()
        cursor.execute(sql.replace("?", "%s"), params)
        return Later(self, lambda: list(cursor.fetchall()))

    def one(self, sql: str, *params: Any) -> Later[Row | None]:
        return self.all(sql, *params).then(_first)

    def run(self) -> None:
        """Send what is queued and wait for every answer (nothing to do on SQLite)."""
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.__exit__(None, None, None)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            pipeline.__exit__(exc_type, exc, tb)

    def __enter__(self) -> Self:
        return self


def _first(rows: list[Row]) -> Row | None:
    return tuple(rows[0]) if rows else None


def session_reader(session: Session) -> Reader:
    """A :class:`Reader` on an ORM session's connection, inside its transaction.

    The session is flushed first, so the reads see what it has written so far.
    """
    session.flush()
    conn = session.connection()
    return _factory(conn.dialect)(conn.connection.cursor())


@functools.cache
def _factory(dialect: Dialect) -> ReaderFactory:
    return ReaderFactory(dialect)


class ReaderFactory:
    """Makes :class:`Reader` objects for one dialect (its conversions are looked up once)."""

    def __init__(self, dialect: Dialect) -> None:
        column = UTCDateTime().dialect_impl(dialect)
        self._pg = dialect.name == "postgresql"
        self._ts_in = column.bind_processor(dialect) or _same
        self._ts_out = column.result_processor(dialect, None) or _same

    def __call__(self, cursor: Any, *, writable: bool = True) -> Reader:
        return Reader(
            cursor, pg=self._pg, ts_in=self._ts_in, ts_out=self._ts_out, writable=writable
        )


def _same(value: Any) -> Any:
    return value


def as_bool(value: Any) -> bool:
    """SQLite gives booleans as 0/1."""
    return bool(value)


__all__ = [
    "Batch",
    "Later",
    "Reader",
    "ReaderFactory",
    "Row",
    "as_bool",
    "marks",
    "session_reader",
]


# -- the tail of a write transaction ---------------------------------------------------------

_TAIL = "thvc.at_commit"


class Tail:
    """A statement left for the end of a write transaction, and what to do with its row."""

    __slots__ = ("explain", "params", "sql", "then")

    def __init__(
        self,
        sql: str,
        params: Sequence[Any],
        then: Callable[[Row | None], None] | None,
        explain: Callable[[Exception], Exception | None] | None,
    ) -> None:
        self.sql = sql
        self.params = params
        self.then = then
        self.explain = explain


def explained(tail: Sequence[Tail], exc: Exception) -> Exception | None:
    """The clearer error a tail statement gives for the database error ``exc``, if any."""
    for item in tail:
        if item.explain is not None and (better := item.explain(exc)) is not None:
            return better
    return None


def at_commit(
    session: Session,
    sql: str,
    *params: Any,
    then: Callable[[Row | None], None] | None = None,
    explain: Callable[[Exception], Exception | None] | None = None,
) -> None:
    """Run ``sql`` as the last statement of the session's transaction; ``then`` gets its row.

    For a statement that takes a lock every writer needs (the audit chain's head): run
    mid-transaction, the lock is held across every later round trip, and across each
    wait of the thread to run Python again, which on a busy server is the longer part.
    :meth:`thvc.db.engine.Database.write` sends these statements on PostgreSQL in one
    pipeline with the COMMIT: the lock lasts only as long as the server takes. Anywhere
    else they run just before the commit. Nothing runs if the transaction rolls back.
    Should the commit fail with a database error, ``explain`` may turn it into a clearer
    one (the error cannot say which statement of the pipeline caused it).
    """
    session.info.setdefault(_TAIL, []).append(Tail(sql, params, then, explain))


def has_tail(session: Session) -> bool:
    """Whether :func:`at_commit` left statements in the session's transaction."""
    return bool(session.info.get(_TAIL))


def take_tail(session: Session) -> list[Tail]:
    """The statements :func:`at_commit` left, removed from the session (run them)."""
    tail: list[Tail] = session.info.pop(_TAIL, [])
    return tail


@event.listens_for(Session, "before_commit")
def _tail_before_commit(session: Session) -> None:
    # A session that Database.write did not make (or one committed by hand) still runs
    # its tail, before its own commit: an audit event is never dropped silently.
    tail = take_tail(session)
    if tail:
        r = session_reader(session)
        for item in tail:
            try:
                row = r.one(item.sql, *item.params) if item.then else r.run(item.sql, *item.params)
            except Exception as exc:
                if (better := explained([item], exc)) is not None:
                    raise better from exc
                raise
            if item.then is not None:
                item.then(row if isinstance(row, tuple) else None)


@event.listens_for(Session, "after_transaction_end")
def _tail_after_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: a rollback drops the tail
        session.info.pop(_TAIL, None)
