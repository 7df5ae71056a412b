"""Alembic, driven from code: the migrations ship inside the package.

Alembic is imported only to migrate. Checking that a database is current is
one query against ``HEAD``, which keeps every ``thvc`` command and server
start quick; tests/unit/test_migrations.py keeps ``HEAD`` equal to the
newest migration.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from thvc.db.engine import Database

if TYPE_CHECKING:
    from alembic.config import Config

HERE = Path(__file__).parent
HEAD = "0005"


class NotMigrated(RuntimeError):
    """The database schema is not at the version this code needs."""


def config(db: Database) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(config(db), revision)


def head_revision(db: Database) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config(db)).get_current_head()


def current_revision(db: Database) -> str | None:
    try:
        with db.engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None  # no alembic_version table: never initialised


def check_current(db: Database) -> None:
    if current_revision(db) != HEAD:
        raise NotMigrated("the database is not initialised or not migrated: run `thvc init`")
