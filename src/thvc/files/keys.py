"""Per-tenant data keys, unwrapped from the database with the master key."""

from __future__ import annotations

import functools

from thvc.blobs import DataKey, unwrap_key
from thvc.db.hot import Reader
from thvc.errors import NotFound


class TenantKeys:
    """Gives the data key of a tenant; a shredded tenant has none (its data is gone)."""

    def __init__(self, master_key: bytes) -> None:
        self._master = master_key
        # Unwrapping costs a key derivation; the wrapped key is read every time, so a
        # shredded or re-keyed tenant is never served from here.
        self._unwrap = functools.lru_cache(maxsize=1024)(self._unwrap_uncached)

    def data_key(self, r: Reader, tenant_id: int) -> DataKey:
        wrapped = r.scalar("SELECT wrapped_key FROM tenants WHERE id = ?", tenant_id)
        if wrapped is None:
            raise NotFound("the tenant's data key has been destroyed")
        return self._unwrap(tenant_id, bytes(wrapped))

    def _unwrap_uncached(self, tenant_id: int, wrapped: bytes) -> DataKey:
        return DataKey(tenant_id, unwrap_key(self._master, tenant_id, wrapped))
