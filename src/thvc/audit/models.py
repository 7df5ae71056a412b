"""The audit trail: an append-only, hash-chained table of events and its head row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from thvc.db.base import Base
from thvc.db.types import UTCDateTime

# SQLite only has 64-bit INTEGER anyway; PostgreSQL needs BIGINT to go past 2**31 events.
BigInt = BigInteger().with_variant(Integer, "sqlite")

OUTCOMES = frozenset({"success", "failure", "denied"})
GENESIS_HASH = "0" * 64
HEAD_ID = 1


class AuditEvent(Base):
    """One recorded action; ``hash`` covers every other column, ``prev_hash`` included."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("outcome IN ('success', 'failure', 'denied')", name="outcome"),
        Index("ix_audit_events_tenant_id_seq", "tenant_id", "seq"),
        Index("ix_audit_events_action", "action"),
    )

    # Assigned from the head row (1, 2, 3, ...), never by the database: a gap is evidence.
    seq: Mapped[int] = mapped_column(BigInt, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # No foreign key: the trail must outlive the tenant it talks about.
    tenant_id: Mapped[int | None] = mapped_column(Integer, default=None)
    actor: Mapped[str | None] = mapped_column(String(320), default=None)
    client: Mapped[str | None] = mapped_column(String(64), default=None)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(Text, default=None)
    outcome: Mapped[str] = mapped_column(String(16))
    # Canonical JSON of a dict; the hash covers this exact text.
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row (id 1) naming the last event, so that truncating the tail shows."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint(f"id = {HEAD_ID}", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInt)
    hash: Mapped[str] = mapped_column(String(64))
