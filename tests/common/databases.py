"""A fresh, migrated database for every test, on SQLite or PostgreSQL.

``THVC_TEST_DATABASE`` picks the engine (``sqlite`` by default). For
PostgreSQL, ``THVC_TEST_POSTGRES_URL`` points at the throw-away cluster that
``scripts/test.sh`` started. The schema is migrated once per worker into a
template (a file for SQLite, a template database for PostgreSQL) and copied
for each test, which costs milliseconds instead of a migration run.
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

ENGINE = os.environ.get("THVC_TEST_DATABASE", "sqlite")
PG_URL = os.environ.get("THVC_TEST_POSTGRES_URL", "")

_lock = threading.Lock()
_template: dict[str, str] = {}


def _migrate(url: str, data_dir: Path) -> None:
    from thvc.audit import ensure_head
    from thvc.db.engine import Database
    from thvc.db.migrate import upgrade
    from thvc.settings import Settings

    db = Database(Settings(data_dir=data_dir, database_url=url))
    try:
        upgrade(db)
        with db.write() as s:
            ensure_head(s)
    finally:
        db.dispose()


def _pg_admin(sql: str) -> None:
    import psycopg

    url = make_url(PG_URL).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def _pg_url(name: str) -> str:
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def fresh_database(tmp: Path, worker: str) -> str:
    """Create a new migrated database and return its SQLAlchemy URL."""
    if ENGINE == "postgresql":
        if not PG_URL:
            raise RuntimeError("THVC_TEST_DATABASE=postgresql needs THVC_TEST_POSTGRES_URL")
        with _lock:
            if "pg" not in _template:
                name = f"thvc_tmpl_{worker}"
                _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                _pg_admin(f'CREATE DATABASE "{name}"')
                _migrate(_pg_url(name), tmp / "migrate")
                _template["pg"] = name
        name = f"t_{uuid.uuid4().hex[:16]}"
        _pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{_template["pg"]}"')
        return _pg_url(name)
    if ENGINE != "sqlite":
        raise RuntimeError(f"unknown THVC_TEST_DATABASE {ENGINE!r}")
    with _lock:
        if "sqlite" not in _template:
            tdir = Path(os.environ.get("PYTEST_TMPDIR", "/tmp")) / f"thvc-tmpl-{uuid.uuid4().hex}"
            tdir.mkdir(parents=True)
            path = tdir / "template.db"
            _migrate(f"sqlite:///{path}", tdir)
            _template["sqlite"] = str(path)
    target = tmp / "thvc.db"
    shutil.copyfile(_template["sqlite"], target)
    return f"sqlite:///{target}"


def drop_database(url: str) -> None:
    if url.startswith("postgresql"):
        name = make_url(url).database
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
