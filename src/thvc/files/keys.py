"""Per-tenant data keys, unwrapped from the database with the master key."""

from __future__ import annotations

import functools

from thvc.blobs import DataKey, unwrap_key
from thvc.db.hot import Batch, Later, Reader, Row
from thvc.errors import NotFound


class TenantKeys:
    """Gives the data key of a tenant; a shredded tenant has none (its data is gone)."""

    def __init__(self, master_key: bytes) -> None:
        self._master = master_key
        # Unwrapping costs a key derivation; the wrapped key is read every time, so a
        # shredded or re-keyed tenant is never served from here.
        self._unwrap = functools.lru_cache(maxsize=1024)(self._unwrap_uncached)

    def data_key(self, r: Reader, tenant_id: int) -> DataKey:
        with r.batch() as b:
            key = self.data_key_of(b, tenant_id)
        return key.get()

    def data_key_of(self, b: Batch, tenant_id: int) -> Later[DataKey]:
        """:meth:`data_key` as part of a batch of reads."""

        def unwrap(row: Row | None) -> DataKey:
            if row is None or row[0] is None:
                raise NotFound("the tenant's data key has been destroyed")
            return self._unwrap(tenant_id, bytes(row[0]))

        return b.one("SELECT wrapped_key FROM tenants WHERE id = ?", tenant_id).then(unwrap)

    def _unwrap_uncached(self, tenant_id: int, wrapped: bytes) -> DataKey:
        return DataKey(tenant_id, unwrap_key(self._master, tenant_id, wrapped))
