"""Alembic environment: uses the engine ThVC hands over, or the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

import thvc.models  # noqa: F401  (registers every table on the metadata)
from thvc.db.base import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
