"""Alembic, driven from code: the migrations ship inside the package."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from thvc.db.engine import Database

HERE = Path(__file__).parent


class NotMigrated(RuntimeError):
    """The database schema is not at the version this code needs."""


def config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE / "migrations"))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    cfg.attributes["engine"] = db.engine
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    command.upgrade(config(db), revision)


def head_revision(db: Database) -> str | None:
    return ScriptDirectory.from_config(config(db)).get_current_head()


def current_revision(db: Database) -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_current(db: Database) -> None:
    if current_revision(db) != head_revision(db):
        raise NotMigrated("the database is not initialised or not migrated: run `thvc init`")
