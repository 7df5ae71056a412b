"""The schema check's pinned head must be the newest migration, and the models match it."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import thvc.models  # noqa: F401  (every table on the metadata)
from thvc.db import Base, Database
from thvc.db.migrate import HEAD, check_current, current_revision, head_revision
from thvc.settings import Settings


def test_the_pinned_head_is_the_newest_migration(settings: Settings) -> None:
    db = Database(settings)
    try:
        assert head_revision(db) == HEAD
        assert current_revision(db) == HEAD
        check_current(db)
    finally:
        db.dispose()


def test_the_migrations_create_exactly_the_models_schema(settings: Settings) -> None:
    """What `alembic check` does: autogenerate finds nothing left to migrate."""
    db = Database(settings)
    try:
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
    finally:
        db.dispose()
