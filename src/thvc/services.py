"""All wiring in one place: settings in, services out."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from thvc.accounts.invitations import InvitationService
from thvc.accounts.loginflow import LoginFlowService
from thvc.accounts.services import AccountService
from thvc.accounts.sessions import SessionService
from thvc.accounts.totp import TotpService
from thvc.audit import AuditLog
from thvc.blobs import LocalBlobStore, load_or_create_master_key, new_data_key, wrap_key
from thvc.db.engine import Database
from thvc.files.keys import TenantKeys
from thvc.files.services import FileService
from thvc.settings import Settings
from thvc.sharing.services import ShareGrants, SharingService
from thvc.tenants.services import TenantService
from thvc.tenants.traffic import TrafficMeter
from thvc.uploads.services import UploadService


@dataclass
class Services:
    settings: Settings
    db: Database
    audit: AuditLog
    blobs: LocalBlobStore
    tenants: TenantService
    accounts: AccountService
    files: FileService
    uploads: UploadService
    login_flows: LoginFlowService
    sharing: SharingService
    invitations: InvitationService
    totp: TotpService
    sessions: SessionService
    traffic: TrafficMeter
    # Signs web session cookies and form tokens; derived from the master key, so every
    # process of one installation agrees on it.
    web_secret: bytes

    def close(self) -> None:
        self.traffic.close()
        self.db.dispose()


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def build_services(settings: Settings) -> Services:
    master = load_or_create_master_key(settings.key_file)
    db = Database(settings)
    audit = AuditLog()
    blobs = LocalBlobStore(settings.blob_dir, segment_size=settings.segment_size)
    tenants = TenantService(
        db,
        audit=audit,
        grace_days=settings.tenant_delete_grace_days,
        new_wrapped_key=lambda tenant_id: wrap_key(master, tenant_id, new_data_key()),
    )
    accounts = AccountService(
        db,
        audit=audit,
        settings=settings,
        cache_secret=_derive(master, b"thvc credential cache v1"),
    )
    files = FileService(
        db,
        audit=audit,
        blobs=blobs,
        keys=TenantKeys(master),
        versions_kept=settings.versions_kept,
        trash_days=settings.trash_days,
    )
    uploads = UploadService(
        db, audit=audit, blobs=blobs, keys=files.keys, files=files, settings=settings
    )
    login_flows = LoginFlowService(
        db,
        audit=audit,
        accounts=accounts,
        secret=_derive(master, b"thvc login flow forms v1"),
    )
    files.grants = ShareGrants()
    accounts.provisioners.append(files.provision_personal_space)
    traffic = TrafficMeter(db)
    files.traffic = traffic
    sharing = SharingService(
        db,
        audit=audit,
        files=files,
        accounts=accounts,
        seal_key=_derive(master, b"thvc link tokens v1"),
    )
    totp = TotpService(db, audit=audit, accounts=accounts, key=_derive(master, b"thvc totp v1"))
    sessions = SessionService(
        db,
        audit=audit,
        accounts=accounts,
        totp=totp,
        settings=settings,
        csrf_key=_derive(master, b"thvc web csrf v1"),
    )
    return Services(
        settings,
        db,
        audit,
        blobs,
        tenants,
        accounts,
        files,
        uploads,
        login_flows,
        sharing,
        InvitationService(db, audit=audit, settings=settings),
        totp,
        sessions,
        traffic,
        web_secret=_derive(master, b"thvc web sessions v1"),
    )
