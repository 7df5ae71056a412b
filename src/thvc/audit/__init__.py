"""The tamper-evident audit trail: who did what, to what, from where, and how it ended."""

from thvc.audit.errors import AuditError, AuditHeadLost, AuditNotInitialised
from thvc.audit.models import AuditEvent, AuditHead
from thvc.audit.services import (
    AuditLog,
    VerifyResult,
    canonical_bytes,
    canonical_detail,
    ensure_head,
    event_hash,
    export,
    query,
    verify,
)

__all__ = [
    "AuditError",
    "AuditEvent",
    "AuditHead",
    "AuditHeadLost",
    "AuditLog",
    "AuditNotInitialised",
    "VerifyResult",
    "canonical_bytes",
    "canonical_detail",
    "ensure_head",
    "event_hash",
    "export",
    "query",
    "verify",
]
