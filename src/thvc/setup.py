"""``thvc init``: everything a fresh data directory needs, safe to run again."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from thvc.accounts.models import Role, User
from thvc.accounts.passwords import generate_password
from thvc.audit import ensure_head
from thvc.db.migrate import upgrade
from thvc.services import build_services
from thvc.settings import Settings
from thvc.tenants.models import Tenant, TenantKind
from thvc.tenants.services import PLATFORM_SLUG

OPERATOR = f"admin@{PLATFORM_SLUG}"


@dataclass(frozen=True)
class InitResult:
    operator_login: str
    # Only on the run that created the operator; never stored or logged.
    operator_password: str | None


def initialise(settings: Settings) -> InitResult:
    settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings.blob_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    svc = build_services(settings)  # creates the master key if there is none
    try:
        upgrade(svc.db)
        with svc.db.write() as s:
            ensure_head(s)
        with svc.db.read() as s:
            platform = s.scalar(select(Tenant).where(Tenant.slug == PLATFORM_SLUG))
            operator = s.scalar(select(User.login).where(User.role == Role.OPERATOR))
        if operator is not None:
            return InitResult(operator, None)
        if platform is None:
            svc.tenants.create(
                PLATFORM_SLUG, "Plattformbetrieb", kind=TenantKind.PLATFORM, actor="init"
            )
        password = generate_password()
        svc.accounts.create_user(
            OPERATOR, password, role=Role.OPERATOR, display_name="Platform operator", actor="init"
        )
        return InitResult(OPERATOR, password)
    finally:
        svc.close()
