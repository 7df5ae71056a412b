"""Per-tenant data keys, unwrapped from the database with the master key."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from thvc.blobs import DataKey, unwrap_key
from thvc.errors import NotFound
from thvc.tenants.models import Tenant


class TenantKeys:
    """Gives the data key of a tenant; a shredded tenant has none (its data is gone)."""

    def __init__(self, master_key: bytes) -> None:
        self._master = master_key

    def data_key(self, session: Session, tenant_id: int) -> DataKey:
        wrapped = session.scalar(select(Tenant.wrapped_key).where(Tenant.id == tenant_id))
        if wrapped is None:
            raise NotFound("the tenant's data key has been destroyed")
        return DataKey(tenant_id, unwrap_key(self._master, tenant_id, wrapped))
