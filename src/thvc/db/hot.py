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
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Dialect
from sqlalchemy.orm import Session

from thvc.db.types import UTCDateTime

Row = tuple[Any, ...]


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

    def ts(self, value: Any) -> datetime | None:
        """A datetime column's value as an aware UTC datetime, as the ORM would give it."""
        return self._ts_out(value) if value is not None else None

    def bind_ts(self, value: datetime) -> Any:
        """An aware datetime as a parameter compared with a datetime column."""
        return self._ts_in(value)


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


__all__ = ["Reader", "ReaderFactory", "Row", "as_bool", "marks", "session_reader"]
