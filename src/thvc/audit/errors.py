"""Errors raised by the audit trail."""

from __future__ import annotations


class AuditError(Exception):
    """Base class for audit trail errors."""


class AuditNotInitialised(AuditError):
    """The head row is missing: ``ensure_head()`` was not run at start-up."""

    def __init__(self) -> None:
        super().__init__("audit head row missing; call thvc.audit.ensure_head() at start-up")


class AuditHeadLost(AuditError):
    """Events exist but the head row is gone; recreating it would hide tampering."""

    def __init__(self, last_seq: int) -> None:
        super().__init__(
            f"audit head row missing although events up to seq {last_seq} exist; "
            "run verify() and restore the head from a backup"
        )
        self.last_seq = last_seq
