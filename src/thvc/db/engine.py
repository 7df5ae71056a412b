"""Engines and sessions.

SQLite runs in WAL mode with a busy timeout. Write transactions start with
``BEGIN IMMEDIATE`` so that two writers queue instead of deadlocking on a lock
upgrade; read transactions stay deferred so readers never wait for writers.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from thvc import onloop
from thvc.db.hot import Reader, ReaderFactory, Row, explained, has_tail, session_reader, take_tail
from thvc.settings import Settings


def _make_engine(url: str, threads: int) -> Engine:
    if url.startswith("sqlite"):
        # Kept open: as many as requests run in parallel in the thread pool,
        # since opening one (file, WAL and pragmas) costs more than a small request.
        engine = create_engine(url, pool_size=threads, max_overflow=8, pool_timeout=60)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, record: ConnectionPoolEntry) -> None:
            # Take over transaction control from pysqlite (it would defer BEGIN badly).
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            if conn.get_execution_options().get("thvc_write"):
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.exec_driver_sql("BEGIN")

        return engine
    # Kept open: as many as the thread pool runs requests at once, so that a burst
    # does not open and close connections (each one a new PostgreSQL backend); a few
    # more for work outside the pool (start-up, clean-up).
    # No ping per checkout: a request checks out several, and each ping is a round trip;
    # a lost server is noticed on its first statement instead (Database._lost).
    return create_engine(url, pool_size=threads, max_overflow=10, pool_timeout=60)


class Database:
    """One engine per process; ``read()`` and ``write()`` give transactional sessions."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.database_url
        self.engine = _make_engine(self.url, settings.worker_threads)
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(
            self.engine.execution_options(thvc_write=True), expire_on_commit=False
        )
        self._readers = ReaderFactory(self.engine.dialect)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        # SQLite lets one transaction write at a time; the others wait in its busy
        # handler, which sleeps in steps of up to 100 ms and so leaves the database idle
        # while writers queue (logins and uploads of a few thousand sync clients). Within
        # the process they queue here instead and start the moment the last one ends;
        # the busy timeout still orders writers of other processes. Reentrant: a write
        # inside a write would wait for itself.
        self._one_writer: AbstractContextManager[object] = (
            threading.RLock() if self.is_sqlite else nullcontext()
        )

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        onloop.check("a write transaction")  # it may queue behind another writer
        with self._one_writer, self._writer() as session:
            try:
                yield session
                self._commit(session)
            except BaseException:
                session.rollback()
                raise

    def _commit(self, session: Session) -> None:
        """Commit, sending the statements left for the end (:func:`thvc.db.hot.at_commit`)
        in one pipeline with the COMMIT on PostgreSQL: whatever they lock is held for the
        server's time only, not for a round trip and a wait for this process's GIL."""
        if self.is_sqlite or not has_tail(session):
            session.commit()  # the tail, if any, runs in the before_commit hook
            return
        session.flush()
        tail = take_tail(session)
        driver: Any = session.connection().connection.dbapi_connection
        try:
            # The DBAPI connection commits, inside the pipeline; the session's commit
            # after it finds nothing left to do. (Committing the session in the pipeline
            # would hand the connection back to the pool while still in pipeline mode.)
            with driver.pipeline():
                cursors = []
                for item in tail:
                    cursor = driver.cursor()
                    cursor.execute(item.sql.replace("?", "%s"), item.params)
                    cursors.append(cursor)
                driver.commit()
            rows = [_first_row(c) if t.then else None for t, c in zip(tail, cursors, strict=True)]
        except self.engine.dialect.loaded_dbapi.Error as exc:
            if (better := explained(tail, exc)) is not None:
                raise better from exc
            raise
        session.commit()
        for item, row in zip(tail, rows, strict=True):
            if item.then is not None:
                item.then(row)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reads; nothing written in it is committed.

        Closing (not rolling back) ends the transaction without expiring the
        loaded objects, so callers may use them after the block.
        """
        self._round_trip_ahead()
        with self._reader() as session:
            yield session

    @contextmanager
    def hot(self) -> Iterator[Reader]:
        """A read snapshot for the per-request reads of :mod:`thvc.db.hot`.

        The DBAPI connection comes from the engine's pool and goes back to it; its
        :class:`Reader` refuses to write. On SQLite the block is one read transaction
        (one snapshot). On PostgreSQL it runs without a transaction: at READ COMMITTED
        each statement takes its own snapshot inside one too, and BEGIN and ROLLBACK
        were two of a small request's few round trips. On the event loop
        (:func:`thvc.onloop.call`, SQLite only) every block of the call shares one
        snapshot: one BEGIN and one connection from the pool for a small GET, not three.
        """
        self._round_trip_ahead()
        if self.is_sqlite and (shared := onloop.held(self, self._snapshot)) is not None:
            yield shared
            return
        with self._snapshot() as reader:
            yield reader

    def _round_trip_ahead(self) -> None:
        """A read of PostgreSQL waits for the network: refused on the event loop."""
        if not self.is_sqlite:
            onloop.check("a round trip to the database server")

    @contextmanager
    def _snapshot(self) -> Iterator[Reader]:
        conn = self.engine.raw_connection()
        driver: Any = conn.dbapi_connection
        cursor: Any = None
        try:
            if self.is_sqlite:
                cursor = conn.cursor()
                cursor.execute("BEGIN")  # one snapshot for every statement of the block
            else:
                driver.autocommit = True
                cursor = conn.cursor()
            yield self._readers(cursor, writable=False)
        except self.engine.dialect.loaded_dbapi.Error as exc:
            if self.engine.dialect.is_disconnect(exc, driver, cursor):
                self._lost(conn)
            raise
        finally:
            if not self.is_sqlite and conn.is_valid:
                try:
                    driver.autocommit = False
                except Exception:
                    conn.invalidate()  # never back into the pool without transactions
            conn.close()  # the pool rolls back on return

    def _lost(self, conn: PoolProxiedConnection) -> None:
        """The server went away (a restart of PostgreSQL): every pooled connection is
        as dead as this one. The pool is replaced, as SQLAlchemy does for the ORM's
        statements; without a ping per checkout, only the requests under way fail."""
        conn.invalidate()
        self.engine.dispose()

    def reader(self, session: Session) -> Reader:
        """The same reads inside an ORM transaction, on its connection: they see what
        the session has written so far (it is flushed first)."""
        return session_reader(session)

    def dispose(self) -> None:
        self.engine.dispose()


def _first_row(cursor: Any) -> Row | None:
    row = cursor.fetchone()
    return tuple(row) if row is not None else None
