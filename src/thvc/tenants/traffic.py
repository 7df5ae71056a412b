"""Bytes moved per tenant and day, for the operator's cost allocation.

Counting every download with its own write would cost a transaction per GET, the
request sync clients make most. So each process adds up in memory and writes
its sums every ``interval`` seconds (and when it stops) with one upsert per
tenant and day; processes add to the same rows, so any number of them can run.
What a killed process had not written yet (at most ``interval`` seconds of
traffic) is lost: acceptable for statistics, and said so in docs/operations.md.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from thvc.db.engine import Database
from thvc.db.types import utcnow
from thvc.tenants.models import TenantTraffic

log = logging.getLogger("thvc.traffic")


@dataclass(frozen=True)
class Traffic:
    bytes_in: int
    bytes_out: int


class TrafficMeter:
    def __init__(self, db: Database, *, interval: float = 10.0) -> None:
        self.db = db
        self.interval = interval
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, date], list[int]] = defaultdict(lambda: [0, 0])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, tenant_id: int, *, bytes_in: int = 0, bytes_out: int = 0) -> None:
        if not (bytes_in or bytes_out):
            return
        key = (tenant_id, utcnow().date())
        with self._lock:
            sums = self._pending[key]
            sums[0] += bytes_in
            sums[1] += bytes_out
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="thvc-traffic", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.flush()
            except Exception:  # a database hiccup must not end the counting
                log.exception("could not write traffic counters; will retry")

    def flush(self) -> None:
        """Write the sums so far (one upsert per tenant and day)."""
        with self._lock:
            pending, self._pending = self._pending, defaultdict(lambda: [0, 0])
        if not pending:
            return
        try:
            with self.db.write() as s:
                insert = (
                    postgresql.insert
                    if s.get_bind().dialect.name == "postgresql"
                    else sqlite.insert
                )
                for (tenant_id, day), (b_in, b_out) in sorted(pending.items()):
                    stmt = insert(TenantTraffic).values(
                        tenant_id=tenant_id, day=day, bytes_in=b_in, bytes_out=b_out
                    )
                    s.execute(
                        stmt.on_conflict_do_update(
                            index_elements=["tenant_id", "day"],
                            set_={
                                "bytes_in": TenantTraffic.bytes_in + stmt.excluded.bytes_in,
                                "bytes_out": TenantTraffic.bytes_out + stmt.excluded.bytes_out,
                            },
                        )
                    )
        except Exception:
            with self._lock:  # put them back for the next try
                for key, (b_in, b_out) in pending.items():
                    self._pending[key][0] += b_in
                    self._pending[key][1] += b_out
            raise

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.flush()
        except Exception:
            log.exception("could not write the last traffic counters")

    def totals(self, *, days: int | None = None) -> dict[int, Traffic]:
        """Written sums per tenant id: all time, or the last ``days`` days."""
        with self.db.read() as s:
            q = select(
                TenantTraffic.tenant_id,
                func.sum(TenantTraffic.bytes_in),
                func.sum(TenantTraffic.bytes_out),
            ).group_by(TenantTraffic.tenant_id)
            if days is not None:
                q = q.where(TenantTraffic.day > utcnow().date() - timedelta(days=days))
            return {
                int(t): Traffic(int(b_in or 0), int(b_out or 0)) for t, b_in, b_out in s.execute(q)
            }
