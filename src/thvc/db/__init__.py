"""Database engine, sessions, declarative base and migrations."""

from thvc.db.base import Base
from thvc.db.engine import Database

__all__ = ["Base", "Database"]
